/**
 * Puts a test app's server on a real port on 127.0.0.1 (port 0: the system picks a free one), for clients that
 * users bring (Apollo Client, urql, the codegen example, a browser): they talk HTTP, not `server.fetch`.
 */
import { createServer as createHttpServer } from "node:http";
import type { AddressInfo } from "node:net";
import { createLogger } from "../../src/logger.js";
import type { Server } from "../../src/server.js";
import { createHub, type SubscriptionHub } from "../../src/subscriptions/hub.js";
import { startApp, type TestApp } from "./app.js";

export interface Listening {
  /** The GraphQL endpoint, e.g. http://127.0.0.1:43123/graphql. */
  url: string;
  /** The server's origin, e.g. http://127.0.0.1:43123. */
  base: string;
  close(): Promise<void>;
}

export async function listen(server: Server): Promise<Listening> {
  const http = createHttpServer(server);
  await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
  const base = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  return {
    url: `${base}/graphql`,
    base,
    close: () =>
      new Promise<void>((resolve) => {
        http.close(() => resolve());
        http.closeAllConnections();
      }),
  };
}

/** A test app with a subscription hub of its own, listening on a real port: what the SSE clients' tests start. */
export interface LiveApp {
  app: TestApp;
  hub: SubscriptionHub;
  http: Listening;
  close(): Promise<void>;
}

export async function startLiveApp(limits: { maxPerUser: number; maxPerAddress: number }): Promise<LiveApp> {
  const hub = createHub({ limits, logger: createLogger("silent") });
  const app = await startApp({ subscriptions: hub });
  const http = await listen(app.server);
  return {
    app,
    hub,
    http,
    async close() {
      await hub.close();
      await http.close();
      await app.close();
    },
  };
}

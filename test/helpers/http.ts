/**
 * Puts a test app's server on a real port on 127.0.0.1 (port 0: the system picks a free one), for clients that
 * users bring (Apollo Client, urql, the codegen example, a browser): they talk HTTP, not `server.fetch`.
 */
import { createServer as createHttpServer } from "node:http";
import type { AddressInfo } from "node:net";
import type { Server } from "../../src/server.js";

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

/**
 * Draining (src/shutdown.ts) in front of the real server on a port: once draining starts, a request already taken is
 * answered in full (and its connection closed after), a new request on an open keep-alive connection is answered
 * SERVICE_UNAVAILABLE, probes still answer, and the drain ends when the last request in flight is done.
 */
import { Agent, createServer as createHttpServer, request as httpRequest, type IncomingMessage } from "node:http";
import { once } from "node:events";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDrain } from "../src/shutdown.js";
import { startApp, type TestApp } from "./helpers/app.js";

let app: TestApp;
beforeAll(async () => {
  app = await startApp();
});
afterAll(async () => {
  await app.close();
});

interface Answer {
  status: number;
  connection: string | undefined;
  retryAfter: string | undefined;
  body: any;
}

async function read(response: IncomingMessage): Promise<Answer> {
  let text = "";
  for await (const chunk of response) text += chunk;
  return {
    status: response.statusCode ?? 0,
    connection: response.headers.connection,
    retryAfter: response.headers["retry-after"],
    body: text.startsWith("{") ? JSON.parse(text) : text,
  };
}

describe("draining", () => {
  it("finishes the request in flight, refuses new ones with 503 on open connections, and resolves when done", async () => {
    const drain = createDrain();
    const http = createHttpServer(drain.handler(app.server));
    http.listen(0, "127.0.0.1");
    await once(http, "listening");
    const port = (http.address() as { port: number }).port;
    const agent = new Agent({ keepAlive: true, maxSockets: 2 });
    const user = await app.user({ name: "Drain" });
    const post = (body: string, headers: Record<string, string> = {}) =>
      httpRequest({
        host: "127.0.0.1",
        port,
        path: "/graphql",
        method: "POST",
        agent,
        headers: { "content-type": "application/json", authorization: `Bearer ${user.token}`, ...headers },
      });

    try {
      // Two keep-alive connections: one for the request in flight, one idle and open when the drain starts.
      const warmed = await Promise.all(
        [0, 1].map(async () => {
          const warm = post("");
          warm.end(JSON.stringify({ query: "{ viewer { email } }" }));
          return read((await once(warm, "response"))[0] as IncomingMessage);
        }),
      );
      expect(warmed.map((w) => w.status)).toEqual([200, 200]);
      const sockets = () => Object.values(agent.freeSockets).flat().length;
      expect(sockets()).toBe(2);

      // A request taken but not finished: its body is still on its way.
      const body = JSON.stringify({ query: "{ viewer { email } }" });
      const inFlight = post(body, { "content-length": String(Buffer.byteLength(body)) });
      const inFlightResponse = once(inFlight, "response");
      inFlight.write(body.slice(0, 10));
      const deadline = Date.now() + 10_000;
      while (drain.inFlight() === 0) {
        if (Date.now() > deadline) throw new Error("the request never reached the server");
        await new Promise((r) => setTimeout(r, 10));
      }

      let drained: boolean | undefined;
      const draining = drain.drain(10_000).then((value) => (drained = value));

      // A new request on the open connection: refused before any work.
      expect(sockets()).toBe(1);
      const late = post("");
      late.end(JSON.stringify({ query: "{ viewer { email } }" }));
      const refused = await read((await once(late, "response"))[0] as IncomingMessage);
      expect(refused.status).toBe(503);
      expect(refused.connection).toBe("close");
      expect(refused.retryAfter).toMatch(/^\d+$/);
      expect(refused.body.errors[0].extensions).toEqual({ code: "SERVICE_UNAVAILABLE", retryAfterMs: expect.any(Number) });

      // Probes pass through to the server, which says it is not stopping (isStopping is main.ts' business).
      const health = await fetch(`http://127.0.0.1:${port}/health`);
      expect(health.status).toBe(200);

      expect(drained).toBeUndefined();
      inFlight.end(body.slice(10));
      const finished = await read((await inFlightResponse)[0] as IncomingMessage);
      expect(finished.status).toBe(200);
      expect(finished.body).toEqual({ data: { viewer: { email: user.email } } });
      expect(finished.connection).toBe("close");
      await draining;
      expect(drained).toBe(true);
      expect(drain.inFlight()).toBe(0);
    } finally {
      agent.destroy();
      http.closeAllConnections();
      http.close();
    }
  });

  it("resolves false when a request outlasts the timeout", async () => {
    const drain = createDrain();
    const http = createHttpServer(drain.handler(() => {}));
    http.listen(0, "127.0.0.1");
    await once(http, "listening");
    const port = (http.address() as { port: number }).port;
    try {
      const hanging = httpRequest({ host: "127.0.0.1", port, path: "/graphql", method: "POST" });
      hanging.on("error", () => {});
      hanging.end("{}");
      while (drain.inFlight() === 0) await new Promise((r) => setTimeout(r, 10));
      const started = performance.now();
      expect(await drain.drain(200)).toBe(false);
      expect(performance.now() - started).toBeGreaterThanOrEqual(190);
    } finally {
      http.closeAllConnections();
      http.close();
    }
  });
});

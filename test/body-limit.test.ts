/**
 * Request bodies over MAX_BODY_BYTES are refused with 413 and BAD_REQUEST before they are parsed, whether the size
 * is announced (Content-Length) or not (chunked), through the fetch handler and through the node HTTP server.
 */
import { request as httpRequest } from "node:http";
import { connect } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startApp, type TestApp } from "./helpers/app.js";
import { killAll, spawnServer, type ServerProcess } from "./helpers/processes.js";

const LIMIT = 524_288;

/** A JSON body of exactly `bytes` bytes: a valid request with an unused padding variable. */
function bodyOf(bytes: number): string {
  const empty = JSON.stringify({ query: "{ __typename }", variables: { pad: "" } });
  return JSON.stringify({ query: "{ __typename }", variables: { pad: "x".repeat(bytes - empty.length) } });
}

/** The body as a stream of 64 KiB chunks: the Request has no Content-Length, like a chunked upload. */
function streamOf(text: string): ReadableStream<Uint8Array> {
  const bytes = new TextEncoder().encode(text);
  let offset = 0;
  return new ReadableStream({
    pull(controller) {
      if (offset >= bytes.length) return controller.close();
      controller.enqueue(bytes.slice(offset, offset + 65_536));
      offset += 65_536;
    },
  });
}

// Frozen: Yoga's Request ponyfill writes a computed content-length into a plain headers object it is given.
const HEADERS = Object.freeze({ "content-type": "application/json", accept: "application/graphql-response+json" });

function expectTooLarge(status: number, body: any) {
  expect(status).toBe(413);
  expect(body).toEqual({ errors: [{ message: "Request body too large", extensions: { code: "BAD_REQUEST" } }] });
}

describe("through the fetch handler", () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startApp();
  });
  afterAll(async () => {
    await app?.close();
  });

  it("a body of exactly MAX_BODY_BYTES is served; one byte more is 413, with Content-Length", async () => {
    expect(bodyOf(LIMIT)).toHaveLength(LIMIT);
    const at = await app.fetch("/graphql", { method: "POST", headers: { ...HEADERS, "content-length": String(LIMIT) }, body: bodyOf(LIMIT) });
    expect(at.status).toBe(200);
    expect(await at.json()).toEqual({ data: { __typename: "Query" } });
    const over = await app.fetch("/graphql", { method: "POST", headers: { ...HEADERS, "content-length": String(LIMIT + 1) }, body: bodyOf(LIMIT + 1) });
    expectTooLarge(over.status, await over.json());
  });

  it("a streamed body without Content-Length is counted as it arrives", async () => {
    const stream = (text: string) => ({ method: "POST", headers: { ...HEADERS }, body: streamOf(text), duplex: "half" }) as RequestInit;
    const at = await app.fetch("/graphql", stream(bodyOf(LIMIT)));
    expect(at.status).toBe(200);
    const over = await app.fetch("/graphql", stream(bodyOf(LIMIT + 1)));
    expectTooLarge(over.status, await over.json());
  });

  it("a Content-Length that understates the body does not let the rest through", async () => {
    const over = await app.fetch("/graphql", {
      method: "POST",
      headers: { ...HEADERS, "content-length": "100" },
      body: streamOf(bodyOf(4 * LIMIT)),
      duplex: "half",
    } as RequestInit);
    expectTooLarge(over.status, await over.json());
  });

  it("the limit is MAX_BODY_BYTES", async () => {
    const small = await startApp({ env: { MAX_BODY_BYTES: "2048" } });
    try {
      expect((await small.fetch("/graphql", { method: "POST", headers: { ...HEADERS }, body: bodyOf(2048) })).status).toBe(200);
      const over = await small.fetch("/graphql", { method: "POST", headers: { ...HEADERS, "content-length": "2049" }, body: bodyOf(2049) });
      expectTooLarge(over.status, await over.json());
    } finally {
      await small.close();
    }
  });
});

describe("through the node HTTP server (src/main.ts)", () => {
  let server: ServerProcess;
  beforeAll(async () => {
    server = await spawnServer({ PGLITE_DATA_DIR: "memory://", JWT_SECRET: "body-limit-secret-0123456789-0123456789" });
    await server.waitFor("/ready", 200, 150_000);
  }, 180_000);
  afterAll(async () => {
    await killAll();
  });

  /** POSTs with node:http: `chunked` sends no Content-Length (Transfer-Encoding: chunked). */
  function post(body: string, chunked: boolean): Promise<{ status: number; connection?: string; body: any }> {
    return new Promise((resolve, reject) => {
      const bytes = Buffer.from(body);
      const req = httpRequest(
        `${server.url}/graphql`,
        { method: "POST", headers: { ...HEADERS, ...(chunked ? {} : { "content-length": String(bytes.length) }) } },
        (res) => {
          let text = "";
          res.setEncoding("utf8").on("data", (chunk: string) => (text += chunk));
          res.on("end", () => {
            try {
              resolve({ status: res.statusCode!, connection: res.headers.connection, body: JSON.parse(text) });
            } catch {
              reject(new Error(`${res.statusCode} ${JSON.stringify(text)}`));
            }
          });
        },
      );
      // The server may answer and close before the whole body is sent; the answer is what counts.
      req.on("error", (e) => reject(new Error(`${e.message}; server: ${server.stderr().slice(-2000)}`)));
      for (let offset = 0; offset < bytes.length; offset += 65_536) req.write(bytes.subarray(offset, offset + 65_536));
      req.end();
    });
  }

  it("Content-Length over the limit: 413 before the body is read; at the limit: served", async () => {
    expect((await post(bodyOf(LIMIT), false)).status).toBe(200);
    const over = await post(bodyOf(LIMIT + 1), false);
    expectTooLarge(over.status, over.body);
    expect(over.connection).toBe("close");
  });

  it("bytes past a Content-Length are never read as the body: node frames it (so such a body is not counted again)", async () => {
    // A request announcing a small body and, on the same connection right behind its last byte, a second request:
    // node reads those bytes as the next request, never as more of the first one's body.
    const body = bodyOf(100);
    const first = `POST /graphql HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
    const second = `GET /health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n`;
    const url = new URL(server.url);
    const answer = await new Promise<string>((resolve, reject) => {
      let text = "";
      const socket = connect(Number(url.port), url.hostname, () => socket.write(first + second));
      socket.setEncoding("utf8").on("data", (chunk: string) => (text += chunk));
      socket.on("error", reject);
      socket.on("close", () => resolve(text));
    });
    expect(answer.match(/HTTP\/1\.1 \d+/g), answer).toEqual(["HTTP/1.1 200", "HTTP/1.1 200"]);
    expect(answer).toContain(JSON.stringify({ data: { __typename: "Query" } }));
    expect(answer).toContain(JSON.stringify({ status: "ok" }));
  });

  it("chunked over the limit: 413; at the limit: served; and the server goes on serving", async () => {
    expect((await post(bodyOf(LIMIT), true)).status).toBe(200);
    const over = await post(bodyOf(2 * LIMIT), true);
    expectTooLarge(over.status, over.body);
    // The unread rest of the body must not be taken for the next request on a kept-alive connection.
    expect(over.connection).toBe("close");
    expect((await post(bodyOf(100), true)).body).toEqual({ data: { __typename: "Query" } });
  });
});

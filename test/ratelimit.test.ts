/**
 * Rate limits through the real server: past the budget a request is RATE_LIMITED (429, Retry-After,
 * extensions.retryAfterMs); budgets are per user, or per address for anonymous requests; windows end; only executed
 * GraphQL requests count. With Redis, two instances share one budget, and an unreachable Redis lets requests through.
 */
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { createServer as createHttpServer } from "node:http";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { signDevToken } from "../src/auth/token.js";
import { resetClock, setClock } from "../src/clock.js";
import { loadConfig } from "../src/config.js";
import { createLogger } from "../src/logger.js";
import { createMemoryStore, createRateLimiter, createRedisStore, type RateLimiter, type RateLimitStore } from "../src/ratelimit.js";
import { createServer, type Server } from "../src/server.js";
import { startApp, TEST_SECRET, type TestApp } from "./helpers/app.js";
import { freePort, gqlOver, killAll, spawnServer } from "./helpers/processes.js";

const REDIS_URL = "redis://127.0.0.1:6379";
/** Keys of this run only: the PGlite and PostgreSQL projects run this file at the same time against one Redis. */
const PREFIX = `invitations-test:${randomBytes(6).toString("hex")}:`;

const silent = createLogger("silent");
const toClose: Array<{ close(): Promise<void> }> = [];

let app: TestApp;
beforeAll(async () => {
  app = await startApp();
});
afterAll(async () => {
  await killAll();
  for (const item of toClose.reverse()) await item.close();
  await app?.close();
});

function limiter(options: { max: number; windowMs?: number; trustProxy?: number; store?: RateLimitStore; logger?: ReturnType<typeof createLogger> }): RateLimiter {
  const created = createRateLimiter({
    store: options.store ?? createMemoryStore(),
    max: options.max,
    windowMs: options.windowMs ?? 60_000,
    trustProxy: options.trustProxy,
    logger: options.logger ?? silent,
  });
  toClose.push(created);
  return created;
}

/** A server on this file's database with its own limiter. */
function serverWith(rateLimiter: RateLimiter): Server {
  return createServer({ config: loadConfig({ NODE_ENV: "test", JWT_SECRET: TEST_SECRET }), logger: silent, isReady: () => true, rateLimiter });
}

/** A server, or the same over a real HTTP connection. */
interface Fetcher {
  fetch(url: string, init: RequestInit): Response | Promise<Response>;
}

interface Sent {
  status: number;
  headers: Headers;
  body: any;
}

async function send(
  server: Fetcher,
  options: { token?: string; headers?: Record<string, string>; query?: string; accept?: string } = {},
): Promise<Sent> {
  const headers: Record<string, string> = {
    "content-type": "application/json",
    accept: options.accept ?? "application/graphql-response+json",
    ...options.headers,
  };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  const query = options.query ?? (options.token ? "{ viewer { id } }" : "{ __typename }");
  const response = await server.fetch("http://localhost/graphql", { method: "POST", headers, body: JSON.stringify({ query }) });
  return { status: response.status, headers: response.headers, body: await response.json() };
}

async function sendTimes(n: number, fn: () => Promise<Sent>): Promise<Sent[]> {
  const results: Sent[] = [];
  for (let i = 0; i < n; i += 1) results.push(await fn());
  return results;
}

function expectAllowed(result: Sent) {
  expect(result.body.errors).toBeUndefined();
  expect(result.status).toBe(200);
}

function expectLimited(result: Sent, windowMs = 60_000) {
  expect(result.status).toBe(429);
  expect(result.body.data ?? null).toBeNull();
  expect(result.body.errors).toHaveLength(1);
  const extensions = result.body.errors[0].extensions;
  expect(extensions.code).toBe("RATE_LIMITED");
  expect(extensions.retryAfterMs).toBeGreaterThan(0);
  expect(extensions.retryAfterMs).toBeLessThanOrEqual(windowMs);
  expect(extensions.http).toBeUndefined();
  expect(result.headers.get("retry-after")).toBe(String(Math.ceil(extensions.retryAfterMs / 1000)));
}

describe("over the limit", () => {
  it("answers RATE_LIMITED with retryAfterMs, HTTP 429 and Retry-After, and RateLimit-* headers throughout", async () => {
    const server = serverWith(limiter({ max: 3 }));
    const { token } = await app.user();
    const allowed = await sendTimes(3, () => send(server, { token }));
    for (const result of allowed) expectAllowed(result);
    expect(allowed.map((r) => r.headers.get("ratelimit-remaining"))).toEqual(["2", "1", "0"]);
    for (const result of allowed) {
      expect(result.headers.get("ratelimit-limit")).toBe("3");
      expect(Number(result.headers.get("ratelimit-reset"))).toBeGreaterThan(0);
      expect(Number(result.headers.get("ratelimit-reset"))).toBeLessThanOrEqual(60);
    }

    const limited = await send(server, { token });
    expectLimited(limited);
    expect(limited.headers.get("ratelimit-remaining")).toBe("0");
    // Legacy application/json clients get the 429 too: retrying is decided on the status.
    expectLimited(await send(server, { token, accept: "application/json" }));
  });

  it("keeps a separate budget for each user", async () => {
    const server = serverWith(limiter({ max: 2 }));
    const [alice, bob] = [await app.user({ name: "Alice" }), await app.user({ name: "Bob" })];
    for (const result of await sendTimes(2, () => send(server, { token: alice.token }))) expectAllowed(result);
    expectLimited(await send(server, { token: alice.token }));

    for (const result of await sendTimes(2, () => send(server, { token: bob.token }))) expectAllowed(result);
    expectLimited(await send(server, { token: bob.token }));
    expectLimited(await send(server, { token: alice.token }));
  });

  it("lets a client through again once its window has ended", async () => {
    // The clock is moved, not slept on: a short real window could end between two requests of a loaded machine.
    const server = serverWith(limiter({ max: 2, windowMs: 60_000 }));
    const { token } = await app.user();
    try {
      for (const result of await sendTimes(2, () => send(server, { token }))) expectAllowed(result);
      const limited = await send(server, { token });
      expectLimited(limited, 60_000);
      setClock({ offsetMs: limited.body.errors[0].extensions.retryAfterMs + 50 });
      const again = await send(server, { token });
      expectAllowed(again);
      expect(again.headers.get("ratelimit-remaining")).toBe("1");
    } finally {
      resetClock();
    }
  });
});

describe("anonymous requests", () => {
  it("are limited by the connection's address, apart from the users behind that address", async () => {
    const server = serverWith(limiter({ max: 2 }));
    const http = createHttpServer(server);
    http.listen(0, "127.0.0.1");
    await once(http, "listening");
    toClose.push({
      close: () =>
        new Promise<void>((resolve) => {
          http.closeAllConnections();
          http.close(() => resolve());
        }),
    });
    const address = http.address();
    const origin = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`;
    const overHttp: Fetcher = { fetch: (url, init) => fetch(new URL(new URL(url).pathname, origin), init) };

    for (const result of await sendTimes(2, () => send(overHttp))) expectAllowed(result);
    expectLimited(await send(overHttp));
    // Without trusted proxies, X-Forwarded-For is the client's word and changes nothing.
    expectLimited(await send(overHttp, { headers: { "x-forwarded-for": "203.0.113.7" } }));
    // A signed-in user from the same address has a budget of their own.
    expectAllowed(await send(overHttp, { token: (await app.user()).token }));
  });

  it("share one budget when no address is known and no proxy is trusted", async () => {
    const server = serverWith(limiter({ max: 2 }));
    expectAllowed(await send(server, { headers: { "x-forwarded-for": "203.0.113.1" } }));
    expectAllowed(await send(server, { headers: { "x-forwarded-for": "203.0.113.2" } }));
    expectLimited(await send(server, { headers: { "x-forwarded-for": "203.0.113.3" } }));
    expectLimited(await send(server));
  });

  it("are limited by the address a trusted proxy forwarded, whatever the client wrote before it", async () => {
    const server = serverWith(limiter({ max: 2, trustProxy: 1 }));
    const from = (xff: string) => send(server, { headers: { "x-forwarded-for": xff } });
    expectAllowed(await from("203.0.113.10"));
    // The client wrote the first entry, the trusted proxy appended the second: the second is the client.
    expectAllowed(await from("198.51.100.99, 203.0.113.10"));
    expectLimited(await from("198.51.100.1, 203.0.113.10"));
    expectAllowed(await from("203.0.113.11"));
    // IPv6 clients are counted per /64, the block one subscriber holds.
    expectAllowed(await from("2001:db8:aa:1::1"));
    expectAllowed(await from("2001:DB8:AA:1:ffff::2"));
    expectLimited(await from("2001:db8:aa:1:0:0:0:3"));
    expectAllowed(await from("2001:db8:aa:2::1"));
  });
});

describe("what counts", () => {
  it("counts GraphQL requests only: /health, /ready and GraphiQL do not, nor requests refused before execution", async () => {
    const server = serverWith(limiter({ max: 1 }));
    const { token } = await app.user();
    for (let i = 0; i < 3; i += 1) {
      expect((await server.fetch("http://localhost/health")).status).toBe(200);
      expect((await server.fetch("http://localhost/ready")).status).toBe(200);
      expect((await server.fetch("http://localhost/graphql", { headers: { accept: "text/html" } })).status).toBe(200);
      // An invalid document costs no database work and is not counted.
      expect((await send(server, { token, query: "{ nope }" })).body.errors[0].extensions.code).toBe("GRAPHQL_VALIDATION_FAILED");
    }
    const first = await send(server, { token });
    expectAllowed(first);
    expect(first.headers.get("ratelimit-remaining")).toBe("0");
    expectLimited(await send(server, { token }));
  });

  it("keeps the memory store bounded: past maxKeys the oldest client's window is dropped", async () => {
    // Anonymous clients behind a trusted proxy: one key each (a signed-in request also counts its address).
    const server = serverWith(limiter({ max: 1, trustProxy: 1, store: createMemoryStore({ maxKeys: 2 }) }));
    const from = (address: string) => send(server, { headers: { "x-forwarded-for": address } });
    expectAllowed(await from("198.51.100.1"));
    expectLimited(await from("198.51.100.1"));
    expectAllowed(await from("198.51.100.2"));
    expectLimited(await from("198.51.100.1"));
    expectAllowed(await from("198.51.100.3")); // .1, the oldest, makes room
    expectAllowed(await from("198.51.100.1"));
  });

  it("is off by default in the test kit", async () => {
    const { token } = await app.user();
    const results = await sendTimes(5, () => send(app.server, { token }));
    for (const result of results) {
      expectAllowed(result);
      expect(result.headers.get("ratelimit-limit")).toBeNull();
    }
  });
});

describe("with Redis", () => {
  async function redisStore(url = REDIS_URL, prefix = PREFIX): Promise<RateLimitStore> {
    const store = createRedisStore(url, { prefix });
    toClose.push(store);
    return store;
  }

  /** The client connects in the background; requests before that are let through, so wait for it. */
  async function connected(store: RateLimitStore): Promise<RateLimitStore> {
    await vi.waitFor(() => store.hit(`probe:${randomBytes(4).toString("hex")}`, 1_000), { timeout: 5_000, interval: 50 });
    return store;
  }

  it("gives two instances one shared budget", async () => {
    const one = serverWith(limiter({ max: 4, store: await connected(await redisStore()) }));
    const two = serverWith(limiter({ max: 4, store: await connected(await redisStore()) }));
    const { token } = await app.user();
    const remaining: (string | null)[] = [];
    for (const server of [one, two, one, two]) {
      const result = await send(server, { token });
      expectAllowed(result);
      remaining.push(result.headers.get("ratelimit-remaining"));
    }
    expect(remaining).toEqual(["3", "2", "1", "0"]);
    expectLimited(await send(one, { token }));
    expectLimited(await send(two, { token }));
  });

  it("ends the window for every instance at once", async () => {
    // Redis keeps the window (its TTL), so real time must pass; 3 s leaves room for a loaded machine's slow requests.
    const one = serverWith(limiter({ max: 2, windowMs: 3_000, store: await connected(await redisStore()) }));
    const two = serverWith(limiter({ max: 2, windowMs: 3_000, store: await connected(await redisStore()) }));
    const { token } = await app.user();
    expectAllowed(await send(one, { token }));
    expectAllowed(await send(two, { token }));
    const limited = await send(one, { token });
    expectLimited(limited, 3_000);
    await sleep(limited.body.errors[0].extensions.retryAfterMs + 50);
    expectAllowed(await send(two, { token }));
    expectAllowed(await send(one, { token }));
    expectLimited(await send(two, { token }), 3_000);
  });

  it("lets requests through when Redis is unreachable, and warns once per window", async () => {
    const lines: string[] = [];
    const logger = createLogger("warn", (line) => lines.push(line));
    const closedPort = await freePort();
    const store = await redisStore(`redis://127.0.0.1:${closedPort}`);
    const server = serverWith(limiter({ max: 1, store, logger }));
    const { token } = await app.user();
    const results = await sendTimes(5, () => send(server, { token }));
    for (const result of results) {
      expectAllowed(result);
      expect(result.headers.get("ratelimit-limit")).toBeNull();
    }
    const warnings = lines.map((line) => JSON.parse(line)).filter((entry) => entry.level === "warn");
    expect(warnings).toHaveLength(1);
    expect(warnings[0].message).toMatch(/rate limit store unreachable/);
  });
});

describe("the server process", () => {
  it("takes its limits and its Redis from the environment, and still stops cleanly with the Redis connection open", async () => {
    const secret = "ratelimit-test-secret-0123456789-0123456789";
    const server = await spawnServer({ PGLITE_DATA_DIR: "memory://", JWT_SECRET: secret, REDIS_URL, RATE_LIMIT_MAX: "2" });
    await server.waitFor("/ready", 200);
    expect(server.stderr()).toContain('"rateLimit":{"max":2,"windowMs":60000,"store":"redis"}');
    // A user of this run only: the key is shared with nothing else in Redis.
    const token = await signDevToken(secret, { sub: `ratelimit|${randomBytes(8).toString("hex")}`, email: "limits@example.test" });
    const statuses: number[] = [];
    for (let i = 0; i < 3; i += 1) statuses.push((await gqlOver(server.url, /* GraphQL */ `{ viewer { id } }`, undefined, token)).status);
    expect(statuses).toEqual([200, 200, 429]);
    expect(await server.stop("SIGTERM")).toBe(0);
    expect(server.stderr()).toContain('"message":"stopped"');
  });
});

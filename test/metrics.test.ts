/**
 * Metrics: a separate endpoint (never the public port) that a scrape finds filled after a few requests: requests by
 * operation and outcome, GraphQL phases, rate-limit refusals, and the pool gauges on PostgreSQL; label values stay
 * bounded whatever names clients invent.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { ConfigError, loadConfig } from "../src/config.js";
import { createLogger } from "../src/logger.js";
import { backlog } from "../src/events/outbox.js";
import { createMetrics, operationLabeler, type Metrics } from "../src/metrics.js";
import { createMemoryStore, createRateLimiter } from "../src/ratelimit.js";
import { startApp, TEST_SECRET, type TestApp } from "./helpers/app.js";
import { createOrg, invite } from "./helpers/fixtures.js";
import { freePort, gqlOver, killAll, spawnServer } from "./helpers/processes.js";

let app: TestApp;
let metrics: Metrics;
let metricsUrl: string;
const rateLimiter = createRateLimiter({
  store: createMemoryStore(),
  max: 3,
  windowMs: 60_000,
  logger: createLogger("silent"),
  onRefused: (client) => metrics.rateLimitRefused("requests", client),
});

beforeAll(async () => {
  metrics = createMetrics({ maxOperationNames: 5, processMetrics: true });
  app = await startApp({ metrics, rateLimiter });
  metrics.setPoolStats(app.db.poolStats);
  metrics.setOutboxBacklog(backlog);
  const port = await metrics.listen(0, "127.0.0.1");
  metricsUrl = `http://127.0.0.1:${port}/metrics`;
});
afterAll(async () => {
  await killAll();
  await metrics?.close();
  await rateLimiter.close();
  await app?.close();
});

async function scrape(): Promise<string> {
  const response = await fetch(metricsUrl);
  expect(response.status).toBe(200);
  expect(response.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
  return response.text();
}

/** The value of the sample `name{labels}` (labels in any order), or undefined. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split("\n")) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const present = Object.fromEntries([...(match[2] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).every(([k, v]) => present[k] === v)) return Number(match[3]);
  }
  return undefined;
}

describe("the metrics endpoint", () => {
  it("counts requests by operation and outcome, times the phases, and counts rate-limit refusals", async () => {
    const alice = await app.user({ name: "Alice" });
    await app.gql(/* GraphQL */ `query Viewer { viewer { id } }`, {}, alice.token);
    await app.gql(/* GraphQL */ `query Viewer { viewer { id } }`, {}, alice.token);
    await app.gql(/* GraphQL */ `{ viewer { id } }`, {}, null);
    await app.gql(/* GraphQL */ `query Broken { nope }`, {}, alice.token);
    await app.gql(/* GraphQL */ `query Viewer { viewer { id } }`, {}, alice.token);
    // Alice's budget is 3 (an invalid document is refused before it counts): her fourth counted request is refused.
    const refused = await app.gql(/* GraphQL */ `query Viewer { viewer { id } }`, {}, alice.token);
    expect(refused.errors?.[0]?.extensions?.code).toBe("RATE_LIMITED");

    const text = await scrape();
    const count = (labels: Record<string, string>) => sample(text, "graphql_requests_duration_seconds_count", labels);
    expect(count({ operation: "Viewer", operation_type: "query", status: "200", outcome: "ok" })).toBe(3);
    expect(count({ operation: "anonymous", operation_type: "query", status: "401", outcome: "UNAUTHENTICATED" })).toBe(1);
    expect(count({ operation: "Broken", operation_type: "query", status: "400", outcome: "GRAPHQL_VALIDATION_FAILED" })).toBe(1);
    expect(count({ operation: "Viewer", status: "429", outcome: "RATE_LIMITED" })).toBe(1);
    expect(sample(text, "graphql_requests_duration_seconds_sum", { operation: "Viewer", outcome: "ok" })).toBeGreaterThan(0);
    expect(sample(text, "rate_limit_refusals_total", { limit: "requests", client: "user" })).toBe(1);
    expect(sample(text, "graphql_envelop_phase_execute_count", { operationType: "query" })).toBeGreaterThanOrEqual(3);
    expect(sample(text, "graphql_envelop_phase_validate_count")).toBeGreaterThanOrEqual(1);
    expect(sample(text, "process_resident_memory_bytes")).toBeGreaterThan(0);
    // No label carries the URL or the document.
    expect(text).not.toMatch(/url="|viewer \{/);
  });

  it("reports the database pool on PostgreSQL, and no pool on PGlite", async () => {
    const text = await scrape();
    if (app.dbKind === "postgres") {
      expect(sample(text, "db_pool_connections", { state: "total" })).toBeGreaterThanOrEqual(1);
      expect(sample(text, "db_pool_connections", { state: "idle" })).toBeGreaterThanOrEqual(0);
      expect(sample(text, "db_pool_connections", { state: "waiting" })).toBe(0);
      expect(sample(text, "db_pool_max")).toBe(20);
    } else {
      expect(sample(text, "db_pool_connections", { state: "total" })).toBeUndefined();
    }
  });

  it("reports the outbox backlog: emails not yet sent", async () => {
    const before = sample(await scrape(), "outbox_backlog");
    expect(before).toBeGreaterThanOrEqual(0);
    const owner = await app.user();
    const org = await createOrg(app, owner);
    await invite(app, owner, org.id, `backlog-${Date.now()}@example.test`);
    // On PostgreSQL other files write deliveries too: at least this one more.
    expect(sample(await scrape(), "outbox_backlog")).toBeGreaterThanOrEqual(before! + 1);
  });

  it("is not served on the public port", async () => {
    const response = await app.fetch("/metrics");
    expect(response.status).toBe(404);
    expect(await response.text()).not.toContain("graphql_requests_duration_seconds");
  });

  it("answers only GET /metrics", async () => {
    expect((await fetch(metricsUrl.replace("/metrics", "/graphql"))).status).toBe(404);
  });
});

describe("operation labels", () => {
  it("are bounded: GraphQL names only, at most 64 characters, and `other` past the distinct-name budget", () => {
    const label = operationLabeler(2);
    expect(label(undefined, true)).toBe("anonymous");
    expect(label(undefined, false)).toBe("none");
    expect(label("A", true)).toBe("A");
    expect(label("x".repeat(100), true)).toBe("x".repeat(64));
    expect(label("Third", true)).toBe("other");
    expect(label("A", true)).toBe("A");
    expect(label("not a name!", true)).toBe("other");
  });
});

describe("METRICS_PORT", () => {
  it("is off when unset, and takes its host from HOST unless METRICS_HOST says otherwise", () => {
    expect(loadConfig({}).metrics).toBeUndefined();
    expect(loadConfig({ METRICS_PORT: "9464", HOST: "10.0.0.2" }).metrics).toEqual({ port: 9464, host: "10.0.0.2" });
    expect(loadConfig({ METRICS_PORT: "9464", METRICS_HOST: "127.0.0.1" }).metrics).toEqual({ port: 9464, host: "127.0.0.1" });
  });

  it("refuses the public port and anything that is not a port", () => {
    for (const env of [{ METRICS_PORT: "4000" }, { METRICS_PORT: "8080", PORT: "8080" }, { METRICS_PORT: "0" }, { METRICS_PORT: "http" }]) {
      expect(() => loadConfig(env)).toThrow(ConfigError);
      try {
        loadConfig(env);
      } catch (error) {
        expect((error as ConfigError).problems.join("\n")).toMatch(/^METRICS_PORT: /);
      }
    }
  });
});

describe("the server process with METRICS_PORT", () => {
  it("serves /metrics on that port only, with the pool gauges on PostgreSQL", { timeout: 180_000 }, async () => {
    const metricsPort = await freePort();
    const database: Record<string, string> = process.env.TEST_DB === "postgres" ? { DATABASE_URL: inject("postgresUrl") } : { PGLITE_DATA_DIR: "memory://" };
    const server = await spawnServer({ ...database, JWT_SECRET: TEST_SECRET, METRICS_PORT: String(metricsPort) });
    await server.waitFor("/ready", 200, 150_000);
    expect((await gqlOver(server.url, "query Ping { __typename }")).status).toBe(200);
    expect((await fetch(`${server.url}/metrics`)).status).toBe(404);

    const scraped = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
    expect(scraped.status).toBe(200);
    const text = await scraped.text();
    expect(sample(text, "graphql_requests_duration_seconds_count", { operation: "Ping", outcome: "ok" })).toBe(1);
    if (process.env.TEST_DB === "postgres") expect(sample(text, "db_pool_connections", { state: "total" })).toBeGreaterThanOrEqual(1);
    else expect(text).not.toContain("db_pool_connections{");
    expect(server.stderr()).toContain(`"url":"http://127.0.0.1:${metricsPort}/metrics"`);
    expect(await server.stop()).toBe(0);
  });
});

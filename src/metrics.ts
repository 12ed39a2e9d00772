/**
 * Prometheus metrics, served on their own port (METRICS_PORT) by a separate HTTP server, never on the public one:
 * request counts and durations say which operations are called and how often they fail, which is not for clients.
 *
 * - `graphql_requests_duration_seconds` (histogram; its `_count` is the request count) by `operation`,
 *   `operation_type`, `status` and `outcome` (`ok` or the first error's code). Observed for every /graphql request,
 *   including those refused before parsing, which the Yoga plugin's own HTTP histogram leaves out (it also labels by
 *   URL, which a GET request fills with its query).
 * - The GraphQL phases through @graphql-yoga/plugin-prometheus: `graphql_envelop_phase_{parse,validate,context,execute}`
 *   durations and `graphql_envelop_error_result` by phase, labelled by operation type only.
 * - `rate_limit_refusals_total` by `limit` and `client` (`user`, `ip`, `anonymous`).
 * - `db_pool_connections` by `state` (`total`, `idle`, `waiting`) and `db_pool_max`, when on PostgreSQL.
 * - prom-client's default process metrics (CPU, memory, event loop lag, handles).
 *
 * Label values are bounded: `operation` is the executed operation's name when it is a GraphQL name (at most 64
 * characters), `anonymous` for unnamed operations, `none` when there was none (a malformed request), and `other`
 * once `maxOperationNames` distinct names have been seen, so that clients inventing names cannot grow the series
 * without end.
 */
import { createServer as createHttpServer, type Server as HttpServer } from "node:http";
import { usePrometheus } from "@graphql-yoga/plugin-prometheus";
import type { Plugin } from "graphql-yoga";
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";
import { requestInfo } from "./plugins/request-log.js";

/** Connection counts of a database pool (pg's Pool: totalCount, idleCount, waitingCount, and its max). */
export interface PoolStats {
  total: number;
  idle: number;
  waiting: number;
  max: number;
}

export interface Metrics {
  readonly registry: Registry;
  /** The Yoga plugins that observe requests. */
  readonly plugins: Plugin[];
  /** Counts one refused request: `limit` names the budget, `client` the kind of client key. */
  rateLimitRefused(limit: string, client: string): void;
  /** Reads pool counts at each scrape; undefined (or none set) reports no pool gauges. */
  setPoolStats(read: (() => PoolStats | undefined) | undefined): void;
  /** Reads the outbox's backlog (deliveries still to be made) at each scrape; none set reports no backlog gauge. */
  setOutboxBacklog(read: (() => Promise<number>) | undefined): void;
  /** Serves GET /metrics on `port` (0: any free port). Resolves with the port. */
  listen(port: number, host: string): Promise<number>;
  close(): Promise<void>;
}

export interface MetricsOptions {
  /** Distinct operation names kept as label values before the rest become `other`. */
  maxOperationNames?: number;
  /** prom-client's process metrics; off in tests that create many registries. */
  processMetrics?: boolean;
}

const GRAPHQL_NAME = /^[_A-Za-z][_0-9A-Za-z]*$/;

/** Turns operation names into label values from a bounded set (see the module comment). */
export function operationLabeler(maxNames: number): (name: string | null | undefined, hadOperation: boolean) => string {
  const seen = new Set<string>();
  return (name, hadOperation) => {
    if (!name) return hadOperation ? "anonymous" : "none";
    if (!GRAPHQL_NAME.test(name)) return "other";
    const label = name.slice(0, 64);
    if (seen.has(label)) return label;
    if (seen.size >= maxNames) return "other";
    seen.add(label);
    return label;
  };
}

export function createMetrics(options: MetricsOptions = {}): Metrics {
  const registry = new Registry();
  if (options.processMetrics !== false) collectDefaultMetrics({ register: registry });
  const label = operationLabeler(options.maxOperationNames ?? 200);

  const requests = new Histogram({
    name: "graphql_requests_duration_seconds",
    help: "GraphQL HTTP requests: duration in seconds, by operation, operation type, HTTP status and outcome (ok or the first error code)",
    labelNames: ["operation", "operation_type", "status", "outcome"] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const refusals = new Counter({
    name: "rate_limit_refusals_total",
    help: "Requests refused with RATE_LIMITED, by limit and kind of client",
    labelNames: ["limit", "client"] as const,
    registers: [registry],
  });
  let readPool: (() => PoolStats | undefined) | undefined;
  new Gauge({
    name: "db_pool_connections",
    help: "Database pool connections by state: total (open), idle, waiting (requests queued for a connection)",
    labelNames: ["state"] as const,
    registers: [registry],
    collect() {
      this.reset();
      const stats = readPool?.();
      if (!stats) return;
      this.set({ state: "total" }, stats.total);
      this.set({ state: "idle" }, stats.idle);
      this.set({ state: "waiting" }, stats.waiting);
    },
  });
  new Gauge({
    name: "db_pool_max",
    help: "Largest number of connections the database pool may open",
    registers: [registry],
    collect() {
      this.reset();
      const stats = readPool?.();
      if (stats) this.set(stats.max);
    },
  });

  let readBacklog: (() => Promise<number>) | undefined;
  new Gauge({
    name: "outbox_backlog",
    help: "Outbox deliveries (invitation emails and webhooks) not yet sent or given up, across all instances",
    registers: [registry],
    async collect() {
      this.reset();
      // A scrape while the database is down reports no backlog rather than failing the whole page.
      const backlog = await readBacklog?.().catch(() => undefined);
      if (backlog !== undefined) this.set(backlog);
    },
  });

  const requestMetric: Plugin = {
    onResponse({ request, response }) {
      const url = new URL(request.url);
      if (url.pathname !== "/graphql") return;
      const info = requestInfo(request);
      // GraphiQL's page is not an operation.
      if (request.method === "GET" && !url.searchParams.has("query") && (response.headers.get("content-type") ?? "").startsWith("text/html")) return;
      requests.observe(
        {
          operation: label(info.operationName, info.operationType !== undefined),
          operation_type: info.operationType ?? "none",
          status: String(response.status),
          outcome: info.errorCodes[0] ?? "ok",
        },
        (performance.now() - info.startedAt) / 1000,
      );
    },
  };

  const phases = usePrometheus({
    registry,
    endpoint: false,
    metrics: {
      graphql_envelop_phase_parse: true,
      graphql_envelop_phase_validate: true,
      graphql_envelop_phase_context: true,
      graphql_envelop_phase_execute: true,
      graphql_envelop_error_result: true,
      graphql_envelop_request: false,
      graphql_envelop_request_duration: false,
      graphql_envelop_request_time_summary: false,
      graphql_envelop_phase_subscribe: false,
      graphql_envelop_deprecated_field: false,
      graphql_envelop_schema_change: false,
      graphql_envelop_execute_resolver: false,
      graphql_yoga_http_duration: false,
    },
    // Client-chosen names and paths would make the series unbounded; operationName is covered above, bounded.
    labels: { operationName: false, operationType: true, phase: true, path: false, fieldName: false, typeName: false, returnType: false },
  });

  let server: HttpServer | undefined;
  return {
    registry,
    plugins: [requestMetric, phases],
    rateLimitRefused(limit, client) {
      refusals.inc({ limit, client });
    },
    setPoolStats(read) {
      readPool = read;
    },
    setOutboxBacklog(read) {
      readBacklog = read;
    },
    listen(port, host) {
      server = createHttpServer((req, res) => {
        if (req.method !== "GET" || (req.url ?? "").split("?")[0] !== "/metrics") {
          res.writeHead(404, { "content-type": "text/plain" }).end("Not found. Metrics are at GET /metrics.\n");
          return;
        }
        registry.metrics().then(
          (body) => res.writeHead(200, { "content-type": registry.contentType }).end(body),
          (error: unknown) => res.writeHead(500, { "content-type": "text/plain" }).end(`metrics failed: ${String(error)}\n`),
        );
      });
      const listening = server;
      return new Promise<number>((resolve, reject) => {
        listening.once("error", reject);
        listening.listen(port, host, () => {
          listening.off("error", reject);
          const address = listening.address();
          resolve(typeof address === "object" && address ? address.port : port);
        });
      });
    },
    close() {
      const closing = server;
      server = undefined;
      if (!closing) return Promise.resolve();
      return new Promise<void>((resolve) => {
        closing.close(() => resolve());
        closing.closeAllConnections();
      });
    },
  };
}

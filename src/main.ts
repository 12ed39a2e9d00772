/**
 * Reads the configuration, listens, opens the database and applies migrations. Nothing else lives here.
 *
 * The port opens first so that /health answers while start-up runs (an instance may wait for another's migrations
 * behind the advisory lock); /ready and /graphql answer 503 until the migrations are applied.
 */
import { createServer as createHttpServer } from "node:http";
import { withDevSecret } from "./auth/dev-secret.js";
import { ConfigError, loadConfig, type Config } from "./config.js";
import { openDatabase, type Database } from "./db/client.js";
import { migrate } from "./db/migrate.js";
import { createLogger, type Logger } from "./logger.js";
import { backlog as outboxBacklog } from "./events/outbox.js";
import { createMetrics } from "./metrics.js";
import { loadPersistedDocuments } from "./plugins/persisted-operations.js";
import { rateLimiterFromConfig } from "./ratelimit.js";
import { createServer } from "./server.js";
import { createDrain } from "./shutdown.js";
import { startOutboxWorker } from "./events/start.js";
import { createHub } from "./subscriptions/hub.js";
import { tuneHeap } from "./heap.js";
import type { Worker } from "./events/worker.js";

async function main(): Promise<void> {
  tuneHeap();
  let config: Config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(78);
    }
    throw error;
  }
  const logger = createLogger(config.logLevel);
  let persistedOperations;
  if (config.persistedOperations.mode !== "off") {
    try {
      const documents = await loadPersistedDocuments(config.persistedOperations.file);
      persistedOperations = { mode: config.persistedOperations.mode, documents };
    } catch (error) {
      process.stderr.write(`Invalid configuration:\n  - ${(error as Error).message}\n`);
      process.exit(78);
    }
  }
  let devSecretCreated = false;
  try {
    const resolved = await withDevSecret(config);
    devSecretCreated = resolved.devSecretCreated ?? false;
    config = resolved;
  } catch (error) {
    process.stderr.write(`Development secret: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(78);
  }
  const where = config.database.kind === "postgres" ? "PostgreSQL" : `PGlite at ${config.database.dataDir}`;

  let ready = false;
  let stopping = false;
  const metrics = config.metrics ? createMetrics() : undefined;
  const rateLimiter = rateLimiterFromConfig(config, logger, { onRefused: (client) => metrics?.rateLimitRefused("requests", client) });
  // Live events for subscriptions: over Redis pub/sub with REDIS_URL (every instance hears every change), else in memory.
  const subscriptions = createHub({ redisUrl: config.redisUrl, limits: config.subscriptions, logger });
  const yoga = createServer({ config, logger, isReady: () => ready, isStopping: () => stopping, rateLimiter, persistedOperations, metrics, subscriptions });
  const drain = createDrain();
  const http = createHttpServer(drain.handler(yoga));
  await new Promise<void>((resolve, reject) => {
    http.once("error", reject);
    http.listen(config.port, config.host, () => {
      http.off("error", reject);
      resolve();
    });
  });
  const address = http.address();
  const port = typeof address === "object" && address ? address.port : config.port;
  const rateLimit = rateLimiter ? { ...config.rateLimit, store: config.redisUrl ? "redis" : "memory" } : "off";
  logger.info("listening", { url: `http://localhost:${port}/graphql`, host: config.host, database: where, rateLimit, subscriptions: subscriptions.transport });
  if (metrics && config.metrics) {
    // A separate server on its own port: metrics are for the operator's scraper, never for the API's clients.
    const metricsPort = await metrics.listen(config.metrics.port, config.metrics.host);
    logger.info("metrics", { url: `http://${config.metrics.host}:${metricsPort}/metrics` });
  }

  let db: Database | undefined;
  let worker: Worker | undefined;
  let migrationsApplied = 0;
  const startUp = (async () => {
    db = await openDatabase(config.database);
    metrics?.setPoolStats(db.poolStats);
    metrics?.setOutboxBacklog(outboxBacklog);
    const session = await db.session();
    try {
      const result = await migrate(session);
      migrationsApplied = result.applied.length;
      logger.info("migrations", { database: where, applied: result.applied, alreadyApplied: result.alreadyApplied.length });
    } finally {
      await session.release();
    }
  })();

  /**
   * The order matters: stop accepting connections, let the requests already taken finish (new ones on open
   * connections get 503), and only then close the database, so that no transaction loses its connection mid-way.
   * Everything is bounded by SHUTDOWN_TIMEOUT_MS: past it the process exits 1 whatever is still running.
   */
  const stop = (signal: string, exitCode = 0) => {
    if (stopping) return;
    stopping = true;
    const timeoutMs = config.shutdownTimeoutMs;
    const deadline = Date.now() + timeoutMs;
    const remaining = () => Math.max(0, deadline - Date.now());
    logger.info("stopping", { signal, inFlight: drain.inFlight(), subscriptions: subscriptions.openCount() });
    setTimeout(() => {
      logger.error("shutdown timed out; exiting", { inFlight: drain.inFlight() });
      process.exit(1);
    }, timeoutMs);
    // Kept back from the drain for closing the database and the rate limit store.
    const closing = Math.min(1_000, Math.floor(timeoutMs / 4));

    // Also closes the idle keep-alive connections; the busy ones close after their answer (see src/shutdown.ts).
    http.close();
    // Subscription streams never finish by themselves: they are completed now (each client sees `complete` and may
    // reconnect to another instance), so that the drain below waits only for ordinary requests.
    subscriptions.drain();
    void (async () => {
      const drained = await drain.drain(Math.max(0, remaining() - closing));
      if (!drained) logger.warn("requests still in flight at the shutdown timeout; closing their connections", { inFlight: drain.inFlight() });
      http.closeAllConnections();
      // An instance may still be waiting for another's migrations: do not wait for that past the shutdown timeout.
      // A running migration is one transaction: cutting it short would leave an embedded database half-written.
      const settled = await Promise.race([
        startUp.then(() => true, () => true),
        new Promise<false>((resolve) => setTimeout(resolve, Math.max(0, remaining() - closing), false).unref()),
      ]);
      if (!settled) {
        logger.warn("start-up still running at shutdown; exiting without waiting for it");
        process.exit(1);
      }
      // Deliveries in flight finish (or are released for another instance) while the database is still open.
      // A send that hangs (a stalled mail server) is given up before the deadline and its claim released, so another
      // instance sends it at once instead of after the lease.
      await withDeadline(
        worker
          ?.stop({ graceMs: Math.floor(Math.max(0, remaining() - closing) * 0.75) })
          .catch((error: unknown) => logger.warn("stopping the outbox worker failed", { error })),
        Math.max(0, remaining() - closing),
        undefined,
      );
      const closed = await withDeadline(closeQuietly(db, logger), remaining(), false);
      await withDeadline(
        rateLimiter?.close().catch((error: unknown) => logger.warn("closing the rate limit store failed", { error })),
        remaining(),
        undefined,
      );
      await withDeadline(
        subscriptions.close().catch((error: unknown) => logger.warn("closing the subscriptions' Redis connections failed", { error })),
        remaining(),
        undefined,
      );
      await withDeadline(metrics?.close(), remaining(), undefined);
      logger.info("stopped", { drained });
      process.exit(drained && closed ? exitCode : 1);
    })();
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));

  try {
    await startUp;
  } catch (error) {
    process.stderr.write(`Start-up failed: ${error instanceof Error ? error.message : String(error)}\n`);
    stop("start-up failure", 1);
    return;
  }
  if (stopping) return;
  ready = true;
  // Fresh planner statistics where nothing else collects them (PGlite) when migrations changed the schema; otherwise
  // the statistics kept in the data folder hold until the periodic ANALYZE (src/db/client.ts). A new folder comes
  // from the template, statistics included.
  if (migrationsApplied > 0) db!.analyze().catch((error: unknown) => logger.warn("ANALYZE after start-up failed", { error }));
  // The worker's first pass (the expiry sweep, deliveries left from before the start) comes one poll interval after
  // ready rather than at once: it is the first Prisma query of the process (about 0.3 s of CPU to load Prisma's
  // query compiler), and on PGlite it holds the one connection and the event loop, so the readiness probe and the
  // first requests would queue behind it. A change that writes deliveries wakes the worker at once anyway.
  worker = startOutboxWorker(config, logger, port, { firstPassDelayMs: config.outbox.pollMs });
  logger.info("ready", { url: `http://localhost:${port}/graphql` });
  if (config.email.mode === "off") logger.warn("invitation emails are off: set SMTP_URL and EMAIL_FROM to send them");
  if (config.webhooks.allowPrivate && config.nodeEnv === "production") {
    logger.warn("WEBHOOK_ALLOW_PRIVATE=true: webhook endpoints may reach private and loopback addresses of this network");
  }
  if (config.jwt.usingDevSecret) {
    process.stderr.write(
      `\nDevelopment mode: tokens are signed with a random secret ${devSecretCreated ? "generated now and " : ""}kept in ${config.jwt.devSecretFile}.\n` +
        `Get a token with\n` +
        `  npm run token -- alice@example.com "Alice"\n` +
        `and send it as  Authorization: Bearer <token>  (GraphiQL: http://localhost:${port}/graphql).\n\n`,
    );
  }
}

/** `promise`'s value, or `fallback` once `ms` have passed. */
function withDeadline<T>(promise: Promise<T> | undefined, ms: number, fallback: T): Promise<T> {
  if (!promise) return Promise.resolve(fallback);
  return Promise.race([promise, new Promise<T>((resolve) => setTimeout(resolve, ms, fallback).unref())]);
}

/** Closes the database; false (and logged) when that failed. */
async function closeQuietly(db: Database | undefined, logger: Logger): Promise<boolean> {
  try {
    await db?.close();
    return true;
  } catch (error) {
    logger.error("closing the database failed", { error });
    return false;
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`Start-up failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});

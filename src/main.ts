/**
 * Reads the configuration, opens the database, applies migrations and listens. Nothing else lives here.
 */
import { createServer as createHttpServer } from "node:http";
import { ConfigError, loadConfig } from "./config.js";
import { openDatabase } from "./db/client.js";
import { migrate } from "./db/migrate.js";
import { createLogger } from "./logger.js";
import { createServer } from "./server.js";

async function main(): Promise<void> {
  let config;
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
  const where = config.database.kind === "postgres" ? "PostgreSQL" : `PGlite at ${config.database.dataDir}`;
  const db = await openDatabase(config.database);

  const session = await db.session();
  try {
    const result = await migrate(session);
    logger.info("migrations", { database: where, applied: result.applied, alreadyApplied: result.alreadyApplied.length });
  } finally {
    await session.release();
  }

  let ready = true;
  const yoga = createServer({ config, logger, isReady: () => ready });
  const http = createHttpServer(yoga);
  await new Promise<void>((resolve) => http.listen(config.port, config.host, resolve));
  const address = http.address();
  const port = typeof address === "object" && address ? address.port : config.port;
  logger.info("listening", { url: `http://localhost:${port}/graphql`, database: where });
  if (config.jwt.usingDevSecret) {
    process.stderr.write(
      `\nDevelopment mode: tokens are signed with a built-in secret. Get one with\n` +
        `  npm run token -- alice@example.com "Alice"\n` +
        `and send it as  Authorization: Bearer <token>  (GraphiQL: http://localhost:${port}/graphql).\n\n`,
    );
  }

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    ready = false;
    logger.info("stopping", { signal });
    const force = setTimeout(() => {
      logger.warn("shutdown timed out; closing remaining connections");
      http.closeAllConnections();
    }, config.shutdownTimeoutMs);
    force.unref();
    // Stop accepting, let in-flight requests finish, then close the database.
    http.close(async () => {
      await db.close();
      logger.info("stopped");
      process.exit(0);
    });
    http.closeIdleConnections();
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
}

main().catch((error: unknown) => {
  process.stderr.write(`Start-up failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});

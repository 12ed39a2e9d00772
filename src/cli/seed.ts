/**
 * npm run seed: demo organizations, members and invitations to explore (see src/demo/seed.ts), in the configured
 * database: DATABASE_URL, or PGlite's data folder (stop the server first: PGlite serves one process at a time).
 * Applies the migrations first, so it also works on a fresh folder. Running it again adds nothing.
 */
import { ConfigError, loadConfig, type Config } from "../config.js";
import { openDatabase } from "../db/client.js";
import { migrate } from "../db/migrate.js";
import { seedDemo } from "../demo/seed.js";
import { GRAPHIQL_USER } from "../demo/users.js";
import { createLogger } from "../logger.js";

let config: Config;
try {
  config = loadConfig();
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  process.stderr.write(`${error.message}\n`);
  process.exit(78);
}
const where = config.database.kind === "postgres" ? "PostgreSQL (DATABASE_URL)" : `PGlite at ${config.database.dataDir}`;
const db = await openDatabase(config.database);
try {
  const session = await db.session();
  try {
    await migrate(session);
  } finally {
    await session.release();
  }
  const result = await seedDemo({ config, logger: createLogger(config.logLevel === "info" ? "warn" : config.logLevel) });
  process.stdout.write(
    `Seeded ${where}: ${result.created.length ? `created ${result.created.join(", ")}` : "nothing new"}` +
      `${result.alreadyThere.length ? `; already there: ${result.alreadyThere.join(", ")}` : ""}.\n` +
      `Sign in as ${GRAPHIQL_USER.name}: open GraphiQL (development), or  npm run token -- ${GRAPHIQL_USER.email}\n`,
  );
} catch (error) {
  process.stderr.write(`Seeding failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
} finally {
  await db.close();
}

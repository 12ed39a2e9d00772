/**
 * Applies prisma/migrations/NNNN_name/migration.sql at start-up, the way `prisma migrate deploy` would
 * (which cannot run through the pg driver adapter; see docs/platform.md): in name order, each in its own transaction,
 * recorded in `_prisma_migrations` with the file's sha256 so `prisma migrate status` agrees. A session-level advisory
 * lock serialises instances that start together, so each migration is applied once.
 */
import { createHash, randomUUID } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { SqlSession } from "./client.js";

/**
 * prisma/migrations of this package: found upwards from this module, which runs from src/db/ (tsx, tests) or
 * bundled into dist/main.js (`npm start`).
 */
export const MIGRATIONS_DIR = findUpwards(dirname(fileURLToPath(import.meta.url)), join("prisma", "migrations"));

function findUpwards(from: string, relative: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, relative))) return join(dir, relative);
    if (dirname(dir) === dir) throw new Error(`${relative} not found above ${from}`);
  }
}

/** Arbitrary but fixed: every instance of this server takes the same lock (exported for tests that hold it). */
export const MIGRATION_LOCK_KEY = 72_707_369;

export interface Migration {
  name: string;
  sql: string;
  checksum: string;
}

export interface MigrationResult {
  applied: string[];
  alreadyApplied: string[];
}

export class MigrationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "MigrationError";
  }
}

export async function readMigrations(dir = MIGRATIONS_DIR): Promise<Migration[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const names = entries.filter((e) => e.isDirectory()).map((e) => e.name).sort();
  return Promise.all(
    names.map(async (name) => {
      const sql = await readFile(join(dir, name, "migration.sql"), "utf8");
      return { name, sql, checksum: createHash("sha256").update(sql).digest("hex") };
    }),
  );
}

// The table exactly as Prisma creates it.
const CREATE_MIGRATIONS_TABLE = `
CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
    "id"                    VARCHAR(36) PRIMARY KEY NOT NULL,
    "checksum"              VARCHAR(64) NOT NULL,
    "finished_at"           TIMESTAMPTZ,
    "migration_name"        VARCHAR(255) NOT NULL,
    "logs"                  TEXT,
    "rolled_back_at"        TIMESTAMPTZ,
    "started_at"            TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count"   INTEGER NOT NULL DEFAULT 0
)`;

interface AppliedRow {
  migration_name: string;
  checksum: string;
  finished_at: Date | null;
}

/**
 * Applies every pending migration. Throws MigrationError when an applied migration's file has changed, when one
 * was left unfinished, or when the database knows a migration this build does not have.
 */
export async function migrate(session: SqlSession, migrations?: Migration[]): Promise<MigrationResult> {
  const wanted = migrations ?? (await readMigrations());
  if (await allApplied(session, wanted)) return { applied: [], alreadyApplied: wanted.map((m) => m.name) };
  await session.query("SELECT pg_advisory_lock($1)", [MIGRATION_LOCK_KEY]);
  try {
    await session.exec(CREATE_MIGRATIONS_TABLE);
    const rows = await session.query<AppliedRow>(SELECT_APPLIED);
    const applied = new Map(rows.map((r) => [r.migration_name, r]));
    checkHistory(wanted, applied);

    const result: MigrationResult = { applied: [], alreadyApplied: [] };
    for (const migration of wanted) {
      if (applied.has(migration.name)) {
        result.alreadyApplied.push(migration.name);
        continue;
      }
      await applyOne(session, migration);
      result.applied.push(migration.name);
    }
    return result;
  } finally {
    await session.query("SELECT pg_advisory_unlock($1)", [MIGRATION_LOCK_KEY]);
  }
}

/**
 * The usual start, where every migration is already applied, in one statement: without the lock and the
 * CREATE TABLE IF NOT EXISTS (on PGlite those cost a start about 50 ms of CPU). The history is checked as below, so a
 * changed or unknown migration still stops the start. Anything else (no table yet, a migration missing or being
 * applied by another instance, whose rows are not visible until it commits) goes the long way, under the lock.
 */
async function allApplied(session: SqlSession, wanted: Migration[]): Promise<boolean> {
  let rows: AppliedRow[];
  try {
    rows = await session.query<AppliedRow>(SELECT_APPLIED);
  } catch {
    return false; // no _prisma_migrations yet: a new database
  }
  const applied = new Map(rows.map((r) => [r.migration_name, r]));
  if (!wanted.every((m) => applied.has(m.name))) return false;
  checkHistory(wanted, applied);
  return true;
}

const SELECT_APPLIED = `SELECT migration_name, checksum, finished_at FROM "_prisma_migrations" WHERE rolled_back_at IS NULL ORDER BY started_at`;

function checkHistory(wanted: Migration[], applied: Map<string, AppliedRow>): void {
  const known = new Set(wanted.map((m) => m.name));
  for (const row of applied.values()) {
    if (!row.finished_at) {
      throw new MigrationError(
        `Migration ${row.migration_name} was started but did not finish; repair the database, then mark it rolled back in _prisma_migrations.`,
      );
    }
    if (!known.has(row.migration_name)) {
      throw new MigrationError(
        `The database has migration ${row.migration_name}, which this build does not know; is an older build starting on a newer database?`,
      );
    }
  }
  for (const migration of wanted) {
    const row = applied.get(migration.name);
    if (row && row.checksum !== migration.checksum) {
      throw new MigrationError(
        `Migration ${migration.name} was modified after it was applied (checksum ${row.checksum.slice(0, 12)}… in the database, ` +
          `${migration.checksum.slice(0, 12)}… on disk). Restore the original file and put the change in a new migration.`,
      );
    }
  }
}

async function applyOne(session: SqlSession, migration: Migration): Promise<void> {
  const id = randomUUID();
  await session.exec("BEGIN");
  try {
    await session.query(
      `INSERT INTO "_prisma_migrations" (id, checksum, migration_name, started_at, applied_steps_count) VALUES ($1, $2, $3, now(), 0)`,
      [id, migration.checksum, migration.name],
    );
    await session.exec(migration.sql);
    await session.query(
      `UPDATE "_prisma_migrations" SET finished_at = clock_timestamp(), applied_steps_count = 1 WHERE id = $1`,
      [id],
    );
    await session.exec("COMMIT");
  } catch (error) {
    await session.exec("ROLLBACK");
    throw new MigrationError(`Migration ${migration.name} failed and was rolled back: ${(error as Error).message}`);
  }
}

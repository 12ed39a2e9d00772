/**
 * The start-up migrator against an empty database (in-memory PGlite, or a fresh PostgreSQL database in the postgres
 * project): what it creates and records, and how it refuses an edited, failed, unknown or unfinished migration.
 */
import { createHash } from "node:crypto";
import { appendFile, cp, mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { SqlSession } from "../src/db/client.js";
import { migrate, MigrationError, MIGRATIONS_DIR, readMigrations, type Migration } from "../src/db/migrate.js";
import { createEmptyDatabase, type EmptyDatabase } from "./helpers/databases.js";

interface MigrationRow {
  id: string;
  checksum: string;
  migration_name: string;
  started_at: Date;
  finished_at: Date | null;
  rolled_back_at: Date | null;
  logs: string | null;
  applied_steps_count: number;
}

const rowsOf = (session: SqlSession) =>
  session.query<MigrationRow>(`SELECT * FROM "_prisma_migrations" ORDER BY started_at, migration_name`);

const tablesOf = async (session: SqlSession) =>
  (await session.query<{ table_name: string }>(`SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'`)).map(
    (r) => r.table_name,
  );

/** The migration directories on disk and their files' sha256, computed independently of the migrator. */
async function migrationsOnDisk(): Promise<Array<{ name: string; checksum: string; tables: string[] }>> {
  const names = (await readdir(MIGRATIONS_DIR, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name);
  return Promise.all(
    names.sort().map(async (name) => {
      const bytes = await readFile(join(MIGRATIONS_DIR, name, "migration.sql"));
      const tables = [...bytes.toString("utf8").matchAll(/CREATE TABLE "([^"]+)"/g)].map((m) => m[1]!);
      return { name, checksum: createHash("sha256").update(bytes).digest("hex"), tables };
    }),
  );
}

describe("migrate on an empty database", () => {
  let db: EmptyDatabase;
  let session: SqlSession;

  beforeAll(async () => {
    db = await createEmptyDatabase();
    session = await db.session();
  });
  afterAll(async () => {
    await db?.drop();
  });

  it("applies every migration, creates the tables, and records each one as Prisma does", async () => {
    const onDisk = await migrationsOnDisk();
    expect(onDisk.length).toBeGreaterThan(0);

    const result = await migrate(session);
    expect(result).toEqual({ applied: onDisk.map((m) => m.name), alreadyApplied: [] });

    const tables = await tablesOf(session);
    const expectedTables = onDisk.flatMap((m) => m.tables);
    expect(expectedTables).toEqual(expect.arrayContaining(["User", "Organization", "Role", "Group", "Membership", "Invitation"]));
    expect(tables).toEqual(expect.arrayContaining([...expectedTables, "_prisma_migrations"]));

    const rows = await rowsOf(session);
    expect(rows.map((r) => r.migration_name)).toEqual(onDisk.map((m) => m.name));
    for (const [i, row] of rows.entries()) {
      expect(row.checksum).toBe(onDisk[i]!.checksum);
      expect(row.id).toMatch(/^[0-9a-f-]{36}$/);
      expect(row.finished_at).toBeInstanceOf(Date);
      expect(row.finished_at!.getTime()).toBeGreaterThanOrEqual(row.started_at.getTime());
      expect(row.rolled_back_at).toBeNull();
      expect(row.applied_steps_count).toBe(1);
    }
  });

  it("applies nothing on a second run", async () => {
    const before = await rowsOf(session);
    const result = await migrate(session);
    expect(result.applied).toEqual([]);
    expect(result.alreadyApplied).toEqual(before.map((r) => r.migration_name));
    expect(await rowsOf(session)).toEqual(before);
  });

  it("stops with a MigrationError naming a migration whose file changed after it was applied", async () => {
    const dir = await mkdtemp(join(tmpdir(), "migrations-"));
    try {
      await cp(MIGRATIONS_DIR, dir, { recursive: true });
      const [first] = await readMigrations(dir);
      await appendFile(join(dir, first!.name, "migration.sql"), "\n-- edited after it was applied\n");
      const edited = await readMigrations(dir);
      expect(edited[0]!.checksum).not.toBe(first!.checksum);

      const before = await rowsOf(session);
      const error = await migrate(session, edited).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(MigrationError);
      expect((error as Error).message).toContain(first!.name);
      expect((error as Error).message).toMatch(/modified after it was applied/);
      expect(await rowsOf(session)).toEqual(before);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("rolls back a failing migration completely and records nothing for it", async () => {
    const current = await readMigrations();
    const broken: Migration = {
      name: "9998_broken",
      sql: `CREATE TABLE "HalfDone" ("id" INT);\nINSERT INTO "HalfDone" VALUES (1);\nSELECT 1 / 0;`,
      checksum: "0".repeat(64),
    };
    const before = await rowsOf(session);

    const error = await migrate(session, [...current, broken]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MigrationError);
    expect((error as Error).message).toContain("9998_broken");
    expect((error as Error).message).toMatch(/division by zero/);

    expect(await rowsOf(session)).toEqual(before);
    expect(await tablesOf(session)).not.toContain("HalfDone");
    // The session is usable afterwards (no transaction left open, the advisory lock released).
    expect(await migrate(session, current)).toMatchObject({ applied: [] });
  });

  it("applies a later migration after the earlier ones, in name order", async () => {
    const current = await readMigrations();
    const later: Migration[] = ["9999_b", "9999_a"].map((name) => ({
      name,
      sql: `CREATE TABLE "t_${name}" ("id" INT);`,
      checksum: createHash("sha256").update(name).digest("hex"),
    }));
    const sorted = [...current, ...later].sort((a, b) => a.name.localeCompare(b.name));
    const result = await migrate(session, sorted);
    expect(result.applied).toEqual(["9999_a", "9999_b"]);
    expect(result.alreadyApplied).toEqual(current.map((m) => m.name));
    expect(await tablesOf(session)).toEqual(expect.arrayContaining(["t_9999_a", "t_9999_b"]));
  });

  it("refuses to run when the database has a migration this build does not know", async () => {
    // The previous test applied 9999_a and 9999_b; this build's list does not have them.
    const error = await migrate(session).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MigrationError);
    expect((error as Error).message).toMatch(/9999_(a|b).*does not know/);
  });

  it("refuses to run over a migration that started but did not finish", async () => {
    // This list knows every migration the database has (including 9999_a and 9999_b from above).
    const known = (await rowsOf(session)).map((r) => ({ name: r.migration_name, checksum: r.checksum, sql: "" }));
    await session.query(
      `INSERT INTO "_prisma_migrations" (id, checksum, migration_name, started_at, applied_steps_count)
       VALUES ('00000000-0000-4000-8000-000000000000', $1, '9999_c', now(), 0)`,
      ["c".repeat(64)],
    );
    const error = await migrate(session, [...known, { name: "9999_c", sql: "SELECT 1;", checksum: "c".repeat(64) }]).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(MigrationError);
    expect((error as Error).message).toMatch(/9999_c.*did not finish/);
  });
});

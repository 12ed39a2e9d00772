/**
 * The migrated PGlite template made at build time (src/db/template.ts): a new data folder started from it holds every
 * migration on disk, applied and recorded, before migrate() runs; a template whose migrations differ from those on
 * disk (one missing, or one whose file changed) is not used, and the folder is created by initdb and migrated. Also
 * the PGlite statistics upkeep (Database.analyze) and the settings PGlite starts with, which the template's tables are
 * the simplest place to check.
 * PGlite only (like test/build.test.ts): it is about the embedded database's files.
 */
import { existsSync } from "node:fs";
import { copyFile, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openDatabase, type Database } from "../src/db/client.js";
import { migrate, readMigrations, type Migration } from "../src/db/migrate.js";
import { extractTemplate, loadTemplate, writeTemplate } from "../src/db/template.js";

let dir: string;
let migrations: Migration[];
let template: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "invitations-template-"));
  migrations = await readMigrations();
  template = join(dir, "current.tar");
  await writeTemplate(template);
});

/** The same dump under another name, its manifest listing `listed` (what a build with those migrations would write). */
async function templateListing(name: string, listed: Migration[]): Promise<string> {
  const file = join(dir, `${name}.tar`);
  await copyFile(template, file);
  const manifest = JSON.parse(await readFile(template.replace(/\.tar$/, ".json"), "utf8")) as { migrations: unknown[] };
  manifest.migrations = listed.map(({ name, checksum }) => ({ name, checksum }));
  await writeFile(file.replace(/\.tar$/, ".json"), JSON.stringify(manifest));
  return file;
}
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function recorded(db: Database): Promise<{ migration_name: string; checksum: string; finished: boolean }[]> {
  const session = await db.session();
  try {
    const [exists] = await session.query<{ table: string | null }>(`SELECT to_regclass('"_prisma_migrations"')::text AS table`);
    if (!exists?.table) return [];
    return await session.query(
      `SELECT migration_name, checksum, finished_at IS NOT NULL AS finished FROM "_prisma_migrations" ORDER BY migration_name`,
    );
  } finally {
    await session.release();
  }
}

describe("the PGlite template", () => {
  it("a new folder started from a current template has every migration on disk applied, before migrate() runs", async () => {
    expect(await loadTemplate(template)).toBeInstanceOf(Blob);

    const db = await openDatabase({ kind: "pglite", dataDir: join(dir, "from-template") }, { template });
    try {
      expect(await recorded(db)).toEqual(migrations.map((m) => ({ migration_name: m.name, checksum: m.checksum, finished: true })));
      const session = await db.session();
      const result = await migrate(session);
      await session.release();
      expect(result).toEqual({ applied: [], alreadyApplied: migrations.map((m) => m.name) });
      // The schema is really there, not only its record.
      expect(await db.prisma.invitation.count()).toBe(0);
    } finally {
      await db.close();
    }

    // The folder is a database of its own now: opened again, it is resumed (the template is for new folders only).
    const again = await openDatabase({ kind: "pglite", dataDir: join(dir, "from-template") }, { template });
    try {
      expect((await recorded(again)).length).toBe(migrations.length);
    } finally {
      await again.close();
    }
  });

  it("holds no template databases, and a folder whose unpacking was cut short (no PG_VERSION yet) is unpacked again", async () => {
    const folder = join(dir, "cut-short");
    expect(await extractTemplate(folder, template)).toBe(true);
    expect(existsSync(join(folder, "PG_VERSION"))).toBe(true);
    // As if the process died before the last file: every other file is there, the marker is not.
    await rm(join(folder, "PG_VERSION"));
    const db = await openDatabase({ kind: "pglite", dataDir: folder }, { template });
    try {
      expect(await recorded(db)).toEqual(migrations.map((m) => ({ migration_name: m.name, checksum: m.checksum, finished: true })));
      const session = await db.session();
      try {
        expect(await session.query(`SELECT datname FROM pg_database ORDER BY datname`)).toEqual([{ datname: "postgres" }]);
      } finally {
        await session.release();
      }
    } finally {
      await db.close();
    }
  });

  it("ANALYZE (after migrations, and every 10 minutes) collects statistics for the application's tables", async () => {
    const db = await openDatabase({ kind: "pglite", dataDir: join(dir, "analyzed") }, { template });
    try {
      const session = await db.session();
      try {
        await session.exec(`INSERT INTO "User" (id, sub, email, "updatedAt") SELECT gen_random_uuid(), 'sub-' || i, 'u' || i || '@example.com', now() FROM generate_series(1, 40) AS i`);
        const tuples = async () => (await session.query<{ reltuples: number }>(`SELECT reltuples FROM pg_class WHERE oid = '"User"'::regclass`))[0]!.reltuples;
        expect(await tuples()).not.toBe(40);
        await db.analyze();
        expect(await tuples()).toBe(40);
      } finally {
        await session.release();
      }
    } finally {
      await db.close();
    }
  });

  it("PGlite starts with the server's settings: shared_buffers 16 MB, not PostgreSQL's 128 MB (src/db/pglite-settings.ts)", async () => {
    for (const dataDir of [join(dir, "settings"), "memory://settings"]) {
      const db = await openDatabase({ kind: "pglite", dataDir }, { template });
      try {
        const session = await db.session();
        expect(await session.query(`SHOW shared_buffers`)).toEqual([{ shared_buffers: "16MB" }]);
        await session.release();
      } finally {
        await db.close();
      }
    }
  });

  it("a template stale against the migrations on disk is not used: the folder is created by initdb and migrated", async () => {
    expect(migrations.length).toBeGreaterThan(1);
    const missingOne = await templateListing("missing-one", migrations.slice(0, -1));
    expect(await loadTemplate(missingOne)).toBeUndefined();
    const changed = await templateListing("changed", migrations.map((m, i) => (i === 0 ? { ...m, checksum: "0".repeat(64) } : m)));
    expect(await loadTemplate(changed)).toBeUndefined();
    const extra = await templateListing("extra", [...migrations, { name: "9999_later", sql: "", checksum: "1".repeat(64) }]);
    expect(await loadTemplate(extra)).toBeUndefined();

    const db = await openDatabase({ kind: "pglite", dataDir: join(dir, "stale-template") }, { template: missingOne });
    try {
      expect(await recorded(db)).toEqual([]);
      const session = await db.session();
      const result = await migrate(session);
      await session.release();
      expect(result.applied).toEqual(migrations.map((m) => m.name));
    } finally {
      await db.close();
    }
  });
});

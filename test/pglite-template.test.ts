/**
 * The migrated PGlite template made at build time (src/db/template.ts): a new data folder started from it holds every
 * migration on disk, applied and recorded, before migrate() runs; a template whose migrations differ from those on
 * disk (one missing, or one whose file changed) is not used, and the folder is created by initdb and migrated.
 * PGlite only (like test/build.test.ts): it is about the embedded database's files.
 */
import { copyFile, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openDatabase, type Database } from "../src/db/client.js";
import { migrate, readMigrations, type Migration } from "../src/db/migrate.js";
import { loadTemplate, writeTemplate } from "../src/db/template.js";

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

/**
 * Once per test run: a migrated PGlite data directory (initdb and every migration, done once: initdb is the most
 * expensive part of a PGlite start) and its snapshot. Every test file's in-process database starts from the snapshot
 * (about 0.4 s to load instead of about 2 s to create); spawned server processes get a copy of the directory
 * (test/helpers/processes.ts). When TEST_DATABASE_URL is set, also a fresh PostgreSQL database for this run.
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import pg from "pg";
import type { TestProject } from "vitest/node";
import { migrate } from "../../src/db/migrate.js";

declare module "vitest" {
  export interface ProvidedContext {
    pgliteSnapshot: string;
    /** A migrated PGlite data directory: copy it, never open it (spawnServer does the copying). */
    pgliteDataDir: string;
    postgresUrl: string;
    postgresAdminUrl: string;
  }
}

export default async function setup(project: TestProject) {
  const dir = await mkdtemp(join(tmpdir(), "invitations-test-"));
  const dataDir = join(dir, "migrated");
  const pglite = await PGlite.create(dataDir);
  await migrate({
    query: async (sql, params) => (await pglite.query(sql, params)).rows as never[],
    exec: async (sql) => void (await pglite.exec(sql)),
    release: async () => {},
  });
  const snapshot = join(dir, "migrated.tar");
  await writeFile(snapshot, Buffer.from(await (await pglite.dumpDataDir("none")).arrayBuffer()));
  await pglite.close();
  project.provide("pgliteSnapshot", snapshot);
  project.provide("pgliteDataDir", dataDir);

  let dropDatabase = async () => {};
  const adminUrl = process.env.TEST_DATABASE_URL;
  if (adminUrl && project.config.env?.TEST_DB === "postgres") {
    const name = `invitations_test_${Date.now()}_${randomBytes(3).toString("hex")}`;
    const admin = new pg.Client({ connectionString: adminUrl });
    await admin.connect();
    await admin.query(`CREATE DATABASE "${name}"`);
    await admin.end();
    const url = new URL(adminUrl);
    url.pathname = `/${name}`;
    const client = new pg.Client({ connectionString: url.toString() });
    await client.connect();
    await migrate({
      query: async (sql, params) => (await client.query(sql, params)).rows as never[],
      exec: async (sql) => void (await client.query(sql)),
      release: async () => {},
    });
    await client.end();
    project.provide("postgresUrl", url.toString());
    project.provide("postgresAdminUrl", adminUrl);
    dropDatabase = async () => {
      const client = new pg.Client({ connectionString: adminUrl });
      await client.connect();
      await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await client.end();
    };
  }

  return async () => {
    await dropDatabase();
    await rm(dir, { recursive: true, force: true });
  };
}

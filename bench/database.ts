import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import { join } from "node:path";
import pg from "pg";

/**
 * A database of the benchmark's own, written into `env`: with an admin `DATABASE_URL`, a new PostgreSQL database
 * named `<prefix>_<tag>`; otherwise a PGlite folder in a temporary directory. Returns what removes it again.
 */
export async function benchDatabase(env: Record<string, string>, prefix: string, tag: string): Promise<() => Promise<void>> {
  const adminUrl = process.env.DATABASE_URL;
  if (!adminUrl) {
    const dir = await mkdtemp(join(os.tmpdir(), `${prefix}-`));
    delete env.DATABASE_URL;
    env.PGLITE_DATA_DIR = dir;
    return () => rm(dir, { recursive: true, force: true });
  }
  const name = `${prefix}_${tag}`;
  const admin = async (sql: string) => {
    const client = new pg.Client(adminUrl);
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };
  await admin(`CREATE DATABASE ${name}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  env.DATABASE_URL = url.toString();
  return () => admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
}

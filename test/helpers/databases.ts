/**
 * Throwaway databases for tests that need an empty one (migrations, several instances): an in-memory PGlite, or a
 * fresh PostgreSQL database created through the admin URL that global-setup provides and dropped afterwards.
 */
import { randomBytes } from "node:crypto";
import { PGlite } from "@electric-sql/pglite";
import pg from "pg";
import { inject } from "vitest";
import type { SqlSession } from "../../src/db/client.js";

export interface EmptyDatabase {
  kind: "pglite" | "postgres";
  /** A new dedicated session (PGlite has one connection, so there every session shares it). */
  session(): Promise<SqlSession>;
  /** The postgres:// URL (PostgreSQL only). */
  url?: string;
  /** Closes every session and drops the database. */
  drop(): Promise<void>;
}

export function testDbKind(): "pglite" | "postgres" {
  return process.env.TEST_DB === "postgres" ? "postgres" : "pglite";
}

/** A new empty PostgreSQL database on the test server; `drop()` removes it (FORCE: even with clients still attached). */
export async function createPostgresDatabase(prefix = "invitations_tmp"): Promise<{ url: string; drop(): Promise<void> }> {
  const adminUrl = inject("postgresAdminUrl");
  if (!adminUrl) throw new Error("No PostgreSQL admin URL: run with TEST_DATABASE_URL set");
  const name = `${prefix}_${Date.now()}_${randomBytes(3).toString("hex")}`;
  await withAdmin(adminUrl, (admin) => admin.query(`CREATE DATABASE "${name}"`));
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: () => withAdmin(adminUrl, (admin) => admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)).then(() => {}),
  };
}

async function withAdmin<T>(adminUrl: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    return await fn(admin);
  } finally {
    await admin.end();
  }
}

/** An empty database of the kind this test project runs on. */
export async function createEmptyDatabase(): Promise<EmptyDatabase> {
  if (testDbKind() === "postgres") {
    const { url, drop } = await createPostgresDatabase();
    const clients: pg.Client[] = [];
    return {
      kind: "postgres",
      url,
      async session() {
        const client = new pg.Client({ connectionString: url });
        await client.connect();
        clients.push(client);
        return pgSession(client);
      },
      async drop() {
        await Promise.all(clients.map((c) => c.end().catch(() => {})));
        await drop();
      },
    };
  }
  const pglite = await PGlite.create("memory://");
  return {
    kind: "pglite",
    async session() {
      return pgliteSession(pglite);
    },
    drop: () => pglite.close(),
  };
}

export function pgSession(client: pg.Client): SqlSession {
  return {
    query: async <T>(sql: string, params?: unknown[]) => (await client.query(sql, params)).rows as T[],
    exec: async (sql: string) => void (await client.query(sql)),
    release: async () => {},
  };
}

export function pgliteSession(pglite: PGlite): SqlSession {
  return {
    query: async <T>(sql: string, params?: unknown[]) => (await pglite.query<T>(sql, params)).rows,
    exec: async (sql: string) => void (await pglite.exec(sql)),
    release: async () => {},
  };
}

/**
 * Several instances on one empty PostgreSQL database: real server processes started together both become ready,
 * and the migrations are applied once, under the advisory lock. (PostgreSQL only: PGlite serves one process.)
 */
import { readdir } from "node:fs/promises";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { migrate, MIGRATION_LOCK_KEY, MIGRATIONS_DIR, readMigrations } from "../../src/db/migrate.js";
import { createPostgresDatabase, pgSession } from "../helpers/databases.js";
import { devToken, gqlOver, killAll, spawnServer, type ServerProcess } from "../helpers/processes.js";

const SECRET = "instances-test-secret-0123456789-0123456789";

const dropLater: Array<() => Promise<void>> = [];
const clients: pg.Client[] = [];
afterAll(async () => {
  await killAll();
  await Promise.all(clients.map((c) => c.end().catch(() => {})));
  for (const drop of dropLater) await drop();
});

async function connect(url: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  clients.push(client);
  return client;
}

async function migrationDirCount(): Promise<number> {
  return (await readdir(MIGRATIONS_DIR, { withFileTypes: true })).filter((e) => e.isDirectory()).length;
}

/** Polls (bounded) until `count` sessions wait for the migration lock. */
async function waitForLockWaiters(client: pg.Client, count: number, timeoutMs = 45_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { rows } = await client.query<{ waiting: number }>(
      `SELECT count(*)::int AS waiting FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND objid = $1`,
      [MIGRATION_LOCK_KEY],
    );
    if (rows[0]!.waiting === count) return;
    if (Date.now() > deadline) throw new Error(`expected ${count} sessions waiting for the migration lock, saw ${rows[0]!.waiting}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe("two server processes started together on an empty database", () => {
  let url = "";
  beforeAll(async () => {
    const db = await createPostgresDatabase("invitations_instances");
    url = db.url;
    dropLater.push(db.drop);
  });

  it("both answer /health at once, wait for the migrations (/ready 503), then both become ready with each migration applied once", async () => {
    // Holding the migrators' lock makes the race certain: both instances are up and waiting before either may migrate.
    const holder = await connect(url);
    await holder.query("SELECT pg_advisory_lock($1)", [MIGRATION_LOCK_KEY]);

    const env = { DATABASE_URL: url, JWT_SECRET: SECRET, DATABASE_POOL_SIZE: "4" };
    const servers: ServerProcess[] = await Promise.all([spawnServer(env), spawnServer(env)]);
    for (const server of servers) await server.waitFor("/health", 200);
    await waitForLockWaiters(holder, 2);
    for (const server of servers) {
      const ready = await fetch(`${server.url}/ready`);
      expect(ready.status).toBe(503);
      expect(await ready.json()).toMatchObject({ status: "starting", migrations: "pending" });
      const early = await gqlOver(server.url, "{ __typename }");
      expect(early.status).toBe(503);
      expect(early.body.errors[0].extensions.code).toBe("SERVICE_UNAVAILABLE");
    }

    await holder.query("SELECT pg_advisory_unlock($1)", [MIGRATION_LOCK_KEY]);
    for (const server of servers) {
      const ready = await server.waitFor("/ready", 200);
      expect(await ready.json()).toMatchObject({ status: "ready", database: "up", migrations: "applied" });
    }

    const { rows } = await holder.query<{ migration_name: string; finished_at: Date | null; applied_steps_count: number }>(
      `SELECT migration_name, finished_at, applied_steps_count FROM "_prisma_migrations" ORDER BY migration_name`,
    );
    expect(rows).toHaveLength(await migrationDirCount());
    expect(rows.map((r) => r.migration_name)).toEqual((await readMigrations()).map((m) => m.name));
    for (const row of rows) expect(row).toMatchObject({ finished_at: expect.any(Date), applied_steps_count: 1 });
    // One instance applied them, the other found them applied.
    const migrationsLine = (stderr: string) =>
      stderr
        .split("\n")
        .filter((line) => line.startsWith("{"))
        .map((line) => JSON.parse(line) as { message?: string; applied?: string[] })
        .find((entry) => entry.message === "migrations");
    const appliedBy = servers.filter((s) => (migrationsLine(s.stderr())?.applied?.length ?? 0) > 0);
    const foundBy = servers.filter((s) => migrationsLine(s.stderr())?.applied?.length === 0);
    expect([appliedBy.length, foundBy.length]).toEqual([1, 1]);

    // Both serve the same user from a token made with `npm run token`.
    const token = await devToken({ JWT_SECRET: SECRET }, "bob@example.com", "Bob");
    const answers = await Promise.all(servers.map((s) => gqlOver(s.url, /* GraphQL */ `{ viewer { id email name } }`, undefined, token)));
    for (const answer of answers) {
      expect(answer.status).toBe(200);
      expect(answer.body.data.viewer).toMatchObject({ email: "bob@example.com", name: "Bob" });
    }
    expect(answers[0]!.body.data.viewer.id).toBe(answers[1]!.body.data.viewer.id);
    const users = await holder.query(`SELECT count(*)::int AS n FROM "User" WHERE sub = 'dev|bob@example.com'`);
    expect(users.rows[0].n).toBe(1);

    const codes = await Promise.all(servers.map((s) => s.stop("SIGTERM")));
    expect(codes).toEqual([0, 0]);
  });
});

describe("a server process stopped while it waits for another instance's migrations", () => {
  it("answers /health meanwhile and exits (non-zero: start-up left unfinished) within its shutdown timeout", async () => {
    const db = await createPostgresDatabase("invitations_stopwait");
    dropLater.push(db.drop);
    const holder = await connect(db.url);
    await holder.query("SELECT pg_advisory_lock($1)", [MIGRATION_LOCK_KEY]);

    const server = await spawnServer({ DATABASE_URL: db.url, JWT_SECRET: SECRET, SHUTDOWN_TIMEOUT_MS: "200" });
    await server.waitFor("/health", 200);
    await waitForLockWaiters(holder, 1);
    expect(await server.stop("SIGTERM")).toBe(1);
    expect(server.stderr()).toContain("start-up still running at shutdown");
    // Nothing was applied: the lock was never granted to it.
    const { rows } = await holder.query(`SELECT to_regclass('"User"') AS t`);
    expect(rows[0].t).toBeNull();
  });
});

describe("migrators racing in one process", () => {
  it("applies each migration once when four sessions migrate an empty database together", async () => {
    const db = await createPostgresDatabase("invitations_race");
    dropLater.push(db.drop);
    const sessions = await Promise.all([1, 2, 3, 4].map(async () => pgSession(await connect(db.url))));
    const results = await Promise.all(sessions.map((s) => migrate(s)));
    const names = (await readMigrations()).map((m) => m.name);

    expect(results.filter((r) => r.applied.length > 0)).toHaveLength(1);
    for (const r of results) expect([...r.applied, ...r.alreadyApplied]).toEqual(names);
    const rows = await sessions[0]!.query<{ migration_name: string }>(`SELECT migration_name FROM "_prisma_migrations" ORDER BY migration_name`);
    expect(rows.map((r) => r.migration_name)).toEqual(names);
  });
});

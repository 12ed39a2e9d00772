/**
 * The server records migrations the way Prisma does: `prisma migrate status` (through the pg adapter, with
 * prisma/postgres.config.ts) agrees with what src/db/migrate.ts applied.
 */
import { join } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, expect, test } from "vitest";
import { migrate } from "../../src/db/migrate.js";
import { createPostgresDatabase, pgSession } from "../helpers/databases.js";
import { ROOT, run } from "../helpers/processes.js";

let database: { url: string; drop(): Promise<void> };
beforeAll(async () => {
  database = await createPostgresDatabase("invitations_status");
});
afterAll(() => database?.drop());

const status = () =>
  run(join(ROOT, "node_modules/.bin/prisma"), ["migrate", "status", "--config", "prisma/postgres.config.ts"], { DATABASE_URL: database.url }, 90_000);

test("prisma migrate status reports pending migrations before start-up and none after the server applied them", async () => {
  const before = await status();
  expect(before.code).not.toBe(0);
  expect(before.stdout + before.stderr).toMatch(/not yet been applied[\s\S]*0001_init/);

  const client = new pg.Client({ connectionString: database.url });
  await client.connect();
  try {
    await migrate(pgSession(client));
  } finally {
    await client.end();
  }

  const after = await status();
  expect(after.stdout).toContain("Database schema is up to date!");
  expect(after.code).toBe(0);
}, 120_000);

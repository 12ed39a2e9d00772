/**
 * On PostgreSQL, Database.read runs each statement as a named prepared statement (src/db/client.ts), so that the
 * hot reads are planned once per connection; DATABASE_PREPARED_STATEMENTS=false (preparedStatements: false) sends
 * them unnamed, for poolers that cannot keep prepared statements. Both must answer the same rows.
 */
import { afterAll, beforeAll, expect, test } from "vitest";
import { openDatabase, PREPARED_LIMIT, type Database } from "../../src/db/client.js";
import { createPostgresDatabase } from "../helpers/databases.js";

let own: Awaited<ReturnType<typeof createPostgresDatabase>>;
const opened: Database[] = [];

beforeAll(async () => {
  own = await createPostgresDatabase("invitations_prepared");
});

afterAll(async () => {
  for (const db of opened) await db.close();
  await own.drop();
});

async function open(preparedStatements: boolean): Promise<Database> {
  // One connection, so that the session asked about is the one that ran the statements.
  const db = await openDatabase({ kind: "postgres", url: own.url, poolSize: 1, preparedStatements });
  opened.push(db);
  return db;
}

const PREPARED = `SELECT count(*)::int AS n FROM pg_prepared_statements WHERE name LIKE 'read\\_%'`;

test("reads are named prepared statements on their connection, one per statement text", async () => {
  const db = await open(true);
  const sql = "SELECT $1::int + 1 AS two, now() AS at, '{\"a\": [1]}'::json AS j";
  for (let i = 0; i < 3; i += 1) {
    const [row] = await db.read(sql, [1]);
    expect(row!.two).toBe(2);
    expect(row!.at).toBeInstanceOf(Date);
    expect(row!.j).toEqual({ a: [1] });
  }
  const [{ n }] = (await db.read(PREPARED, [])) as [{ n: number }];
  // The statement above and this one.
  expect(n).toBe(2);
});

test("without prepared statements the same reads leave none behind", async () => {
  const db = await open(false);
  const [row] = await db.read("SELECT $1::int + 1 AS two", [1]);
  expect(row!.two).toBe(2);
  const [{ n }] = (await db.read(PREPARED, [])) as [{ n: number }];
  expect(n).toBe(0);
});

test("past PREPARED_LIMIT distinct texts, reads run unnamed", async () => {
  const db = await open(true);
  for (let i = 0; i < PREPARED_LIMIT + 20; i += 1) {
    const [row] = await db.read(`SELECT ${i}::int AS i`, []);
    expect(row!.i).toBe(i);
  }
  const [{ n }] = (await db.read(PREPARED, [])) as [{ n: number }];
  expect(n).toBe(PREPARED_LIMIT);
});

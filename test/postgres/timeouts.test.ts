/**
 * Bounded time per request, through a real server process on its own PostgreSQL database: a statement that outlives
 * DATABASE_STATEMENT_TIMEOUT_MS, and an execution that outlives REQUEST_TIMEOUT_MS, end the request with
 * SERVICE_UNAVAILABLE and `retryAfterMs`; the pool's connections are healthy afterwards.
 *
 * The slow statement is a real one: the test holds the advisory lock that createInvitation takes for its
 * (organization, address), so the server's transaction waits on it. (PostgreSQL only: PGlite cannot cancel a statement.)
 */
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signDevToken } from "../../src/auth/token.js";
import { createPostgresDatabase } from "../helpers/databases.js";
import { gqlOver, killAll, spawnServer, type ServerProcess } from "../helpers/processes.js";

const SECRET = "timeouts-test-secret-0123456789-0123456789";
const POOL_SIZE = 2;

const cleanups: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  await killAll();
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
});

const CREATE_ORGANIZATION = /* GraphQL */ `
  mutation ($name: String!) { createOrganization(input: { name: $name }) { organization { id } } }
`;
const CREATE_INVITATION = /* GraphQL */ `
  mutation ($organizationId: ID!, $email: String!) {
    createInvitation(input: { organizationId: $organizationId, email: $email }) { invitation { id email } }
  }
`;

interface Setup {
  url: string;
  server: ServerProcess;
  admin: pg.Client;
  token: string;
  organizationId: string;
  organizationRowId: string;
}

async function setUp(env: Record<string, string>): Promise<Setup> {
  const db = await createPostgresDatabase("invitations_timeouts");
  cleanups.push(db.drop);
  const server = await spawnServer({ DATABASE_URL: db.url, JWT_SECRET: SECRET, DATABASE_POOL_SIZE: String(POOL_SIZE), ...env });
  await server.waitFor("/ready", 200);
  const admin = new pg.Client({ connectionString: db.url });
  await admin.connect();
  cleanups.push(() => admin.end());
  const token = await signDevToken(SECRET, { sub: `timeouts|${Date.now()}`, email: "owner@example.test", name: "Owner" });
  // A cold process's first requests can outlast a short deadline on a busy machine: warm it up, and retry the
  // set-up under a new name (a timed-out attempt may still commit).
  let created: Awaited<ReturnType<typeof gqlOver>> | undefined;
  let name = "";
  for (let attempt = 0; attempt < 10 && !created?.body.data; attempt += 1) {
    await gqlOver(server.url, "{ viewer { id } }", undefined, token);
    name = `Timeouts ${Date.now()} ${attempt}`;
    created = await gqlOver(server.url, CREATE_ORGANIZATION, { name }, token);
  }
  expect(created!.body.errors).toBeUndefined();
  const { rows } = await admin.query<{ id: string }>(`SELECT id::text FROM "Organization" WHERE name = $1`, [name]);
  return { url: db.url, server, admin, token, organizationId: created!.body.data.createOrganization.organization.id, organizationRowId: rows[0]!.id };
}

/** Holds createInvitation's lock for (organization, email) on a connection of the test's own. */
async function holdAddressLock(url: string, organizationRowId: string, email: string): Promise<pg.Client> {
  const holder = new pg.Client({ connectionString: url });
  await holder.connect();
  cleanups.push(() => holder.end());
  await holder.query(`SELECT pg_advisory_lock(hashtextextended($1, 0))`, [`${organizationRowId}:${email}`]);
  return holder;
}

/** The server's own sessions on the database (everything but the test's), with their state. */
async function serverSessions(admin: pg.Client, exclude: number[]): Promise<Array<{ state: string; query: string }>> {
  const { rows } = await admin.query<{ state: string; query: string }>(
    `SELECT state, query FROM pg_stat_activity WHERE datname = current_database() AND pid <> ALL($1::int[]) AND backend_type = 'client backend'`,
    [exclude],
  );
  return rows;
}

async function pidOf(client: pg.Client): Promise<number> {
  return (await client.query<{ pid: number }>("SELECT pg_backend_pid() AS pid")).rows[0]!.pid;
}

/** Every connection of the pool answers: rounds of as many concurrent requests as it has connections, each writing. */
async function expectPoolHealthy(setup: Setup): Promise<void> {
  for (let round = 0; round < 3; round += 1) {
    const answers = await Promise.all(
      Array.from({ length: POOL_SIZE }, (_, i) =>
        gqlOver(setup.server.url, CREATE_INVITATION, { organizationId: setup.organizationId, email: `after-${round}-${i}-${Date.now()}@example.test` }, setup.token),
      ),
    );
    for (const answer of answers) expect(answer.body, JSON.stringify(answer.body)).toMatchObject({ data: { createInvitation: { invitation: { id: expect.any(String) } } } });
  }
}

describe("a statement past DATABASE_STATEMENT_TIMEOUT_MS", () => {
  let setup: Setup;
  beforeAll(async () => {
    setup = await setUp({ DATABASE_STATEMENT_TIMEOUT_MS: "600", REQUEST_TIMEOUT_MS: "20000" });
  });

  it("is cancelled by PostgreSQL: SERVICE_UNAVAILABLE with retryAfterMs, nothing written, and the pool serves on", async () => {
    const email = "slow-statement@example.test";
    const holder = await holdAddressLock(setup.url, setup.organizationRowId, email);
    const started = performance.now();
    const answer = await gqlOver(setup.server.url, CREATE_INVITATION, { organizationId: setup.organizationId, email }, setup.token);
    const elapsed = performance.now() - started;
    expect(answer.status).toBe(503);
    expect(answer.body.errors[0].extensions).toEqual({ code: "SERVICE_UNAVAILABLE", retryAfterMs: expect.any(Number) });
    expect(answer.body.errors[0].message).toMatch(/took too long/);
    expect(elapsed).toBeGreaterThanOrEqual(550);
    expect(elapsed).toBeLessThan(5_000);

    // The cancelled statement is over: not running, not waiting on the lock, no transaction left open (pg's pool discards a connection whose statement failed outside a transaction, so the session that ran it may
    // be gone; any session still showing it must be idle, neither running it nor inside a transaction.)
    const sessions = await serverSessions(setup.admin, [await pidOf(setup.admin), await pidOf(holder)]);
    for (const session of sessions.filter((s) => /invitation_address_checks/.test(s.query))) expect(session.state).toBe("idle");
    const { rows } = await setup.admin.query(`SELECT 1 FROM "Invitation" WHERE email = $1`, [email]);
    expect(rows).toHaveLength(0);

    await holder.query(`SELECT pg_advisory_unlock_all()`);
    await expectPoolHealthy(setup);
    const retried = await gqlOver(setup.server.url, CREATE_INVITATION, { organizationId: setup.organizationId, email }, setup.token);
    expect(retried.body.errors).toBeUndefined();
    expect(retried.body.data.createInvitation.invitation.email).toBe(email);
  });
});

describe("an execution past REQUEST_TIMEOUT_MS", () => {
  let setup: Setup;
  beforeAll(async () => {
    setup = await setUp({ DATABASE_STATEMENT_TIMEOUT_MS: "3000", REQUEST_TIMEOUT_MS: "1000" });
  });

  it("is answered SERVICE_UNAVAILABLE at the deadline; the statement still running is cut off later and its connection is reused", async () => {
    const email = "slow-request@example.test";
    const holder = await holdAddressLock(setup.url, setup.organizationRowId, email);
    const started = performance.now();
    const answer = await gqlOver(setup.server.url, CREATE_INVITATION, { organizationId: setup.organizationId, email }, setup.token);
    const elapsed = performance.now() - started;
    expect(answer.status).toBe(503);
    expect(answer.body.errors[0].extensions).toEqual({ code: "SERVICE_UNAVAILABLE", retryAfterMs: expect.any(Number) });
    expect(answer.body.errors[0].message).toMatch(/within 1000 ms/);
    expect(answer.body.data).toBeUndefined();
    expect(elapsed).toBeGreaterThanOrEqual(950);
    expect(elapsed).toBeLessThan(2_900);

    // Answered, but its statement still waits for the lock (taken inside invitation_address_checks), until the
    // statement timeout cancels it.
    const exclude = [await pidOf(setup.admin), await pidOf(holder)];
    expect((await serverSessions(setup.admin, exclude)).some((s) => s.query.includes("invitation_address_checks"))).toBe(true);
    const deadline = Date.now() + 10_000;
    while ((await serverSessions(setup.admin, exclude)).some((s) => s.state !== "idle")) {
      if (Date.now() > deadline) throw new Error("the server's session never went back to idle");
      await new Promise((r) => setTimeout(r, 100));
    }
    const { rows } = await setup.admin.query(`SELECT 1 FROM "Invitation" WHERE email = $1`, [email]);
    expect(rows).toHaveLength(0);

    await holder.query(`SELECT pg_advisory_unlock_all()`);
    await expectPoolHealthy(setup);
    expect(setup.server.stderr()).not.toContain("INTERNAL_SERVER_ERROR");
  });
});

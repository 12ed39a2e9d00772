/**
 * Killing an instance in the middle of delivering an invitation email loses nothing. A real server process sends
 * through an in-process SMTP server (smtp-server) that takes the message's DATA and never answers it:
 *
 * - SIGKILL while the email is in flight: the delivery stays claimed until its lease (OUTBOX_LEASE_MS, small here)
 *   runs out; a new process on the same database then sends it. Exactly one email arrives and exactly one email
 *   delivery exists for the invitation, SENT on its second attempt, its token wiped.
 * - SIGTERM while the email is in flight: the process gives the hanging send up before its shutdown timeout and
 *   releases the claim (not locked, the attempt not counted), exiting cleanly; the next process sends it at once.
 */
import pg from "pg";
import { simpleParser, type ParsedMail } from "mailparser";
import { SMTPServer } from "smtp-server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signDevToken } from "../../src/auth/token.js";
import { createPostgresDatabase } from "../helpers/databases.js";
import { gqlOver, killAll, spawnServer, type ServerProcess } from "../helpers/processes.js";

const SECRET = "outbox-kill-test-secret-0123456789-0123456789";
const LEASE_MS = 3_000;

const cleanups: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  await killAll();
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
});

let databaseUrl = "";
let smtpPort = 0;
let stall = true;
/** DATA commands the server took and is holding (stall mode): the email is in flight. */
let stalled = 0;
const inbox: ParsedMail[] = [];
let owner = "";
let organizationId = "";

beforeAll(async () => {
  const db = await createPostgresDatabase("invitations_outbox_kill");
  databaseUrl = db.url;
  cleanups.push(db.drop);
  const smtp = new SMTPServer({
    authOptional: true,
    disabledCommands: ["STARTTLS"],
    logger: false,
    onData(stream, _session, callback) {
      if (stall) {
        // Read the message but never answer: the sender waits, mid-DATA, until it dies or gives up.
        stalled += 1;
        stream.resume();
        return;
      }
      simpleParser(stream).then(
        (mail) => {
          inbox.push(mail);
          callback();
        },
        (error: Error) => callback(error),
      );
    },
  });
  smtp.on("error", () => {}); // a killed client's socket reset
  await new Promise<void>((resolve) => smtp.listen(0, "127.0.0.1", resolve));
  smtpPort = (smtp.server.address() as { port: number }).port;
  cleanups.push(() => new Promise<void>((resolve) => smtp.close(() => resolve())));
  owner = await signDevToken(SECRET, { sub: "outbox-kill|owner", email: "owner@example.test", name: "Olivia Owner" });
}, 60_000);

async function start(): Promise<ServerProcess> {
  const server = await spawnServer({
    NODE_ENV: "development",
    DATABASE_URL: databaseUrl,
    JWT_SECRET: SECRET,
    SMTP_URL: `smtp://127.0.0.1:${smtpPort}`,
    EMAIL_FROM: "Invitations <invitations@example.test>",
    INVITE_URL_TEMPLATE: "https://app.example.test/invite?token={token}",
    OUTBOX_LEASE_MS: String(LEASE_MS),
    OUTBOX_POLL_MS: "200",
    SHUTDOWN_TIMEOUT_MS: "6000",
  });
  await server.waitFor("/ready", 200);
  return server;
}

async function invite(server: ServerProcess, email: string): Promise<{ id: string; token: string }> {
  if (!organizationId) {
    const created = await gqlOver(server.url, `mutation { createOrganization(input: { name: "Outbox Kill" }) { organization { id } } }`, undefined, owner);
    organizationId = created.body.data.createOrganization.organization.id;
  }
  const result = await gqlOver(
    server.url,
    `mutation ($input: CreateInvitationInput!) { createInvitation(input: $input) { invitation { id } token } }`,
    { input: { organizationId, email } },
    owner,
  );
  expect(result.body.errors).toBeUndefined();
  return { id: result.body.data.createInvitation.invitation.id, token: result.body.data.createInvitation.token };
}

interface DeliveryRow {
  status: string;
  attempts: number;
  locked: boolean;
  hasToken: boolean;
}

/** The invitation's email deliveries, straight from the database. */
async function emailDeliveries(email: string): Promise<DeliveryRow[]> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<DeliveryRow>(
      `SELECT d."status", d."attempts", coalesce(d."lockedUntil" > now(), false) AS "locked", d."token" IS NOT NULL AS "hasToken"
       FROM "OutboxDelivery" d JOIN "Invitation" i ON i."id" = d."invitationId"
       WHERE i."email" = $1 AND d."destination" = 'email' ORDER BY d."id"`,
      [email],
    );
    return rows;
  } finally {
    await client.end();
  }
}

const mailTo = (address: string) => inbox.filter((m) => m.to && !Array.isArray(m.to) && m.to.value[0]?.address === address);

describe("an instance killed while it sends an invitation email", () => {
  it("SIGKILL mid-DATA: after the lease a new process sends it; one email, one delivery, SENT", async () => {
    stall = true;
    const first = await start();
    const email = "killed-mid-send@example.test";
    const invitation = await invite(first, email);
    await expect.poll(() => stalled, { timeout: 60_000 }).toBe(1);
    const inFlight = await emailDeliveries(email);
    expect(inFlight).toEqual([{ status: "PENDING", attempts: 1, locked: true, hasToken: true }]);

    first.child.kill("SIGKILL");
    expect(await first.exited).toBe("SIGKILL");
    stall = false;

    const second = await start();
    await expect.poll(() => mailTo(email).length, { timeout: 60_000 }).toBe(1);
    expect(mailTo(email)[0]!.text).toContain(`https://app.example.test/invite?token=${invitation.token}`);
    await expect.poll(() => emailDeliveries(email), { timeout: 30_000 }).toEqual([{ status: "SENT", attempts: 2, locked: false, hasToken: false }]);
    const delivery = await gqlOver(second.url, `query ($id: ID!) { invitation(id: $id) { delivery { status attempts sentAt } } }`, { id: invitation.id }, owner);
    expect(delivery.body.data.invitation.delivery).toMatchObject({ status: "SENT", attempts: 2 });
    expect(mailTo(email)).toHaveLength(1);

    // The same process goes on to the graceful case.
    stall = true;
    stalled = 0;
    const polite = "stopped-mid-send@example.test";
    await invite(second, polite);
    await expect.poll(() => stalled, { timeout: 60_000 }).toBe(1);
    expect(await emailDeliveries(polite)).toEqual([{ status: "PENDING", attempts: 1, locked: true, hasToken: true }]);
    expect(await second.stop("SIGTERM")).toBe(0);
    expect(second.stderr()).toContain("releasing them");
    // Released: free to take at once, the interrupted attempt not counted.
    expect(await emailDeliveries(polite)).toEqual([{ status: "PENDING", attempts: 0, locked: false, hasToken: true }]);

    stall = false;
    const third = await start();
    await expect.poll(() => mailTo(polite).length, { timeout: 60_000 }).toBe(1);
    await expect.poll(() => emailDeliveries(polite), { timeout: 30_000 }).toEqual([{ status: "SENT", attempts: 1, locked: false, hasToken: false }]);
    expect(mailTo(email)).toHaveLength(1);
    await third.stop("SIGTERM");
  }, 600_000);
});

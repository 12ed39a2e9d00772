/**
 * The transactional outbox and invitation emails: events are written with their change (and only then), a real SMTP
 * server (smtp-server, in process) receives the email with a working link, failures are retried with backoff and
 * then FAILED, the raw token is wiped once the email is sent or given up, and the expiry sweep records EXPIRED once.
 * The worker is stepped by hand (`runOnce`) with the clock moved: no timers, no sleeping.
 *
 * The worker claims every due delivery of its database, so on PostgreSQL this file has a database of its own (the
 * run's shared one holds every other file's deliveries too).
 */
import { simpleParser, type ParsedMail } from "mailparser";
import { SMTPServer } from "smtp-server";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { resetClock, setClock } from "../src/clock.js";
import { prisma } from "../src/db/client.js";
import { createEmailSender, renderInvitationEmail, smtpTransport } from "../src/events/email.js";
import { EMAIL } from "../src/events/record.js";
import { createWorker, retryDelay, type Worker } from "../src/events/worker.js";
import { createLogger } from "../src/logger.js";
import { startApp, type TestApp } from "./helpers/app.js";
import { accept, createOrg, expectError, invite, rawId, resend, revoke, tryInvite } from "./helpers/fixtures.js";

let app: TestApp;
let smtp: SMTPServer;
let smtpPort: number;
/** Recipients the SMTP server refuses (with a temporary 451), to make sending fail. */
const refuse = new Set<string>();
const inbox: ParsedMail[] = [];

beforeAll(async () => {
  app = await startApp({ ownDatabase: true });
  smtp = new SMTPServer({
    authOptional: true,
    disabledCommands: ["STARTTLS"],
    logger: false,
    onRcptTo(address, _session, callback) {
      if (refuse.has(address.address.toLowerCase())) {
        const error = new Error("Mailbox temporarily unavailable") as Error & { responseCode: number };
        error.responseCode = 451;
        callback(error);
        return;
      }
      callback();
    },
    onData(stream, _session, callback) {
      simpleParser(stream).then(
        (mail) => {
          inbox.push(mail);
          callback();
        },
        (error: Error) => callback(error),
      );
    },
  });
  await new Promise<void>((resolve) => smtp.listen(0, "127.0.0.1", resolve));
  smtpPort = (smtp.server.address() as { port: number }).port;
});
afterEach(() => resetClock());
afterAll(async () => {
  await new Promise<void>((resolve) => smtp.close(resolve));
  await app?.close();
});

const TEMPLATE = "https://app.example.test/invite?token={token}";

function emailWorker(options: { maxAttempts?: number } = {}): Worker {
  const logger = createLogger("silent");
  return createWorker({
    senders: {
      [EMAIL]: createEmailSender({
        mode: "smtp",
        transport: smtpTransport(`smtp://127.0.0.1:${smtpPort}`),
        from: "Invitations <invitations@example.test>",
        inviteUrlTemplate: TEMPLATE,
        logger,
      }),
    },
    logger,
    maxAttempts: options.maxAttempts ?? 3,
    backoffMs: 1_000,
    pollMs: 1_000,
    sweepEveryMs: 0,
  });
}

const mailTo = (address: string) => inbox.filter((m) => m.to && !Array.isArray(m.to) && m.to.value[0]?.address === address);

function emailDeliveries(invitationGlobalId: string) {
  return prisma.outboxDelivery.findMany({ where: { invitationId: rawId(invitationGlobalId), destination: EMAIL }, orderBy: { id: "asc" } });
}

function eventTypes(invitationGlobalId: string) {
  return prisma.invitationEvent
    .findMany({ where: { invitationId: rawId(invitationGlobalId) }, orderBy: [{ occurredAt: "asc" }, { id: "asc" }] })
    .then((rows) => rows.map((r) => r.type));
}

describe("events are written with their change", () => {
  it("each lifecycle change records one event, in order, with its actor", async () => {
    const owner = await app.user({ name: "Olivia Owner" });
    const org = await createOrg(app, owner);
    const invitee = await app.user();
    const invitation = await invite(app, owner, org.id, invitee.email);
    await resend(app, owner, invitation.id);
    const accepted = await accept(app, invitee, { invitationId: invitation.id });
    expect(accepted.errors).toBeUndefined();
    expect(await eventTypes(invitation.id)).toEqual(["CREATED", "RESENT", "ACCEPTED"]);
    const events = await prisma.invitationEvent.findMany({ where: { invitationId: rawId(invitation.id) }, include: { actor: true } });
    expect(events.find((e) => e.type === "ACCEPTED")?.actor?.email).toBe(invitee.email);
    expect(events.find((e) => e.type === "CREATED")?.actor?.email).toBe(owner.email);
  });

  it("a mutation that fails writes no event and no delivery", async () => {
    const owner = await app.user();
    const org = await createOrg(app, owner);
    const email = `dup-${Date.now()}@example.test`;
    await invite(app, owner, org.id, email);
    const before = await prisma.invitationEvent.count({ where: { organizationId: rawId(org.id) } });
    const deliveriesBefore = await prisma.outboxDelivery.count({ where: { invitation: { organizationId: rawId(org.id) } } });
    expectError(await tryInvite(app, owner, org.id, email), { code: "CONFLICT", reason: "ALREADY_INVITED" });
    expect(await prisma.invitationEvent.count({ where: { organizationId: rawId(org.id) } })).toBe(before);
    expect(await prisma.outboxDelivery.count({ where: { invitation: { organizationId: rawId(org.id) } } })).toBe(deliveriesBefore);
  });
});

describe("invitation emails", () => {
  it("creating an invitation sends an email naming the organization, the inviter and the expiry, with a working link", async () => {
    const owner = await app.user({ name: "Ada <Lovelace>" });
    const org = await createOrg(app, owner, { name: `Acme & <Sons> ${Date.now()}` });
    const invitee = await app.user();
    const invitation = await invite(app, owner, org.id, invitee.email);

    const [pending] = await emailDeliveries(invitation.id);
    expect(pending).toMatchObject({ status: "PENDING", attempts: 0 });
    expect(pending!.token).toBe(invitation.token);

    await emailWorker().runOnce();
    const [mail] = mailTo(invitee.email);
    expect(mail, "the email arrived").toBeDefined();
    expect(mail!.subject).toBe(`Ada <Lovelace> invited you to join ${org.name}`);
    const link = TEMPLATE.replace("{token}", encodeURIComponent(invitation.token));
    expect(mail!.text).toContain(link);
    expect(mail!.text).toContain("expires on");
    // User-given names are escaped in the HTML part, never markup.
    expect(mail!.html).toContain("Ada &lt;Lovelace&gt;");
    expect(mail!.html).toContain("Acme &amp; &lt;Sons&gt;");
    expect(mail!.html).not.toContain("<Lovelace>");
    expect(mail!.html).toContain(`href="${link}"`);

    // The link works: its token accepts the invitation.
    const token = new URL(link).searchParams.get("token")!;
    expect((await accept(app, invitee, { token })).errors).toBeUndefined();

    const [sent] = await emailDeliveries(invitation.id);
    expect(sent).toMatchObject({ status: "SENT", attempts: 1, token: null, lastError: null });
    expect(sent!.sentAt).toBeInstanceOf(Date);
  });

  it("Invitation.delivery shows the email's status, attempts and error", async () => {
    const owner = await app.user();
    const org = await createOrg(app, owner);
    const invitee = await app.user();
    const invitation = await invite(app, owner, org.id, invitee.email);
    const query = `query ($id: ID!) { invitation(id: $id) { delivery { status attempts lastError sentAt } } }`;
    expect((await app.ok(query, { id: invitation.id }, owner.token)).invitation.delivery).toEqual({
      status: "PENDING",
      attempts: 0,
      lastError: null,
      sentAt: null,
    });
    await emailWorker().runOnce();
    const delivery = (await app.ok(query, { id: invitation.id }, owner.token)).invitation.delivery;
    expect(delivery).toMatchObject({ status: "SENT", attempts: 1, lastError: null });
    expect(Date.parse(delivery.sentAt)).not.toBeNaN();
  });

  it("a failing SMTP server is retried with backoff, then the delivery is FAILED and the token wiped", async () => {
    const owner = await app.user();
    const org = await createOrg(app, owner);
    const invitee = await app.user();
    refuse.add(invitee.email);
    try {
      const invitation = await invite(app, owner, org.id, invitee.email);
      const worker = emailWorker({ maxAttempts: 3 });
      const start = Date.now();

      await worker.runOnce({ now: new Date(start) });
      let [delivery] = await emailDeliveries(invitation.id);
      expect(delivery).toMatchObject({ status: "PENDING", attempts: 1 });
      expect(delivery!.lastError).toMatch(/451|temporarily/i);
      expect(delivery!.token).toBe(invitation.token);
      const retryAt = delivery!.nextAttemptAt.getTime();
      expect(retryAt).toBeGreaterThan(start);

      // Not due before its retry time.
      await worker.runOnce({ now: new Date(retryAt - 1) });
      expect((await emailDeliveries(invitation.id))[0]!.attempts).toBe(1);

      await worker.runOnce({ now: new Date(retryAt) });
      [delivery] = await emailDeliveries(invitation.id);
      expect(delivery).toMatchObject({ status: "PENDING", attempts: 2 });

      await worker.runOnce({ now: delivery!.nextAttemptAt });
      [delivery] = await emailDeliveries(invitation.id);
      expect(delivery).toMatchObject({ status: "FAILED", attempts: 3, token: null });
      expect(mailTo(invitee.email)).toHaveLength(0);

      const status = await app.ok(`query ($id: ID!) { invitation(id: $id) { delivery { status attempts lastError } } }`, { id: invitation.id }, owner.token);
      expect(status.invitation.delivery).toMatchObject({ status: "FAILED", attempts: 3 });
    } finally {
      refuse.delete(invitee.email);
    }
  });

  it("a resend replaces an email not yet sent: only the new link goes out", async () => {
    const owner = await app.user();
    const org = await createOrg(app, owner);
    const invitee = await app.user();
    const invitation = await invite(app, owner, org.id, invitee.email);
    const resent = await resend(app, owner, invitation.id);
    const newToken = resent.data.resendInvitation.token as string;

    await emailWorker().runOnce();
    const mails = mailTo(invitee.email);
    expect(mails).toHaveLength(1);
    expect(mails[0]!.text).toContain(encodeURIComponent(newToken));
    const deliveries = await emailDeliveries(invitation.id);
    expect(deliveries.map((d) => d.status)).toEqual(["FAILED", "SENT"]);
    expect(deliveries.every((d) => d.token === null)).toBe(true);
  });

  it("an invitation revoked before its email went out is not sent", async () => {
    const owner = await app.user();
    const org = await createOrg(app, owner);
    const invitee = await app.user();
    const invitation = await invite(app, owner, org.id, invitee.email);
    await revoke(app, owner, invitation.id);
    await emailWorker().runOnce();
    expect(mailTo(invitee.email)).toHaveLength(0);
    expect((await emailDeliveries(invitation.id))[0]).toMatchObject({ status: "DISABLED", token: null });
  });

  it("the message escapes names in HTML and keeps them as written in text", () => {
    const message = renderInvitationEmail({
      to: "x@example.test",
      organizationName: `"Quotes" & <tags>`,
      inviterName: null,
      expiresAt: new Date("2026-12-07T14:00:00Z"),
      link: "https://x.test/i?token=a&b",
    });
    expect(message.subject).toBe(`Someone invited you to join "Quotes" & <tags>`);
    expect(message.text).toContain("7 Dec 2026");
    expect(message.html).toContain("&quot;Quotes&quot; &amp; &lt;tags&gt;");
    expect(message.html).toContain('href="https://x.test/i?token=a&amp;b"');
  });
});

describe("the worker", () => {
  it("retry delays grow exponentially with jitter and stay under the cap", () => {
    expect(retryDelay(1, 1000, 60_000, () => 0)).toBe(500);
    expect(retryDelay(1, 1000, 60_000, () => 1)).toBe(1000);
    expect(retryDelay(4, 1000, 60_000, () => 1)).toBe(8000);
    expect(retryDelay(30, 1000, 60_000, () => 1)).toBe(60_000);
  });

  it("a worker takes only the destinations it can send to", async () => {
    const owner = await app.user();
    const org = await createOrg(app, owner);
    const invitation = await invite(app, owner, org.id, `nosender-${Date.now()}@example.test`);
    const idle = createWorker({ senders: {}, logger: createLogger("silent"), maxAttempts: 3, backoffMs: 1000, pollMs: 1000, sweepEveryMs: 0 });
    expect((await idle.runOnce()).claimed).toBe(0);
    expect((await emailDeliveries(invitation.id))[0]).toMatchObject({ status: "PENDING", attempts: 0, lockedUntil: null });
  });

  it("several workers at once never deliver one event twice", async () => {
    const owner = await app.user();
    const org = await createOrg(app, owner);
    const invitations = [];
    for (let i = 0; i < 12; i += 1) invitations.push(await invite(app, owner, org.id, `many-${i}-${Date.now()}@example.test`));
    const mine = new Set(invitations.map((i) => rawId(i.id)));
    const sent: string[] = [];
    const logger = createLogger("silent");
    const workers = [1, 2, 3].map(() =>
      createWorker({
        senders: {
          [EMAIL]: async (delivery) => {
            if (mine.has(delivery.invitationId)) sent.push(delivery.invitationId);
            await new Promise((resolve) => setTimeout(resolve, 5));
            return "SENT";
          },
        },
        logger,
        maxAttempts: 3,
        backoffMs: 1000,
        pollMs: 1000,
        batchSize: 5,
        sweepEveryMs: 0,
      }),
    );
    for (let round = 0; round < 6; round += 1) await Promise.all(workers.map((w) => w.runOnce()));
    expect(sent.sort()).toEqual([...mine].sort());
  });

  it("a worker that dies mid-delivery loses its lease: another takes the delivery over", async () => {
    const owner = await app.user();
    const org = await createOrg(app, owner);
    const invitee = await app.user();
    const invitation = await invite(app, owner, org.id, invitee.email);
    const logger = createLogger("silent");
    const at = new Date();
    let hang!: () => void;
    const dead = createWorker({
      senders: { [EMAIL]: (d) => (d.invitationId === rawId(invitation.id) ? new Promise(() => (hang = () => {})) : Promise.resolve("SENT")) },
      logger,
      maxAttempts: 3,
      backoffMs: 1000,
      pollMs: 1000,
      leaseMs: 30_000,
      sweepEveryMs: 0,
    });
    void dead.runOnce({ now: at });
    await expect.poll(async () => (await emailDeliveries(invitation.id))[0]!.lockedUntil).not.toBeNull();
    void hang;
    // Within the lease nobody else takes it; after it, another worker does.
    const rescuer = emailWorker();
    await rescuer.runOnce({ now: new Date(at.getTime() + 29_000) });
    expect(mailTo(invitee.email)).toHaveLength(0);
    await rescuer.runOnce({ now: new Date(at.getTime() + 30_001) });
    expect(mailTo(invitee.email)).toHaveLength(1);
    expect((await emailDeliveries(invitation.id))[0]).toMatchObject({ status: "SENT", attempts: 2, token: null });
  });
});

describe("the expiry sweep", () => {
  it("records EXPIRED once per expiry, and again after a resend expires", async () => {
    const owner = await app.user();
    const org = await createOrg(app, owner);
    const invitee = await app.user();
    const invitation = await invite(app, owner, org.id, invitee.email);
    const { expiresAt } = await prisma.invitation.findUniqueOrThrow({ where: { id: rawId(invitation.id) } });
    const worker = emailWorker();

    await worker.runOnce({ now: new Date(expiresAt.getTime() - 1), sweep: true });
    expect(await eventTypes(invitation.id)).toEqual(["CREATED"]);
    await worker.runOnce({ now: expiresAt, sweep: true });
    await worker.runOnce({ now: new Date(expiresAt.getTime() + 60_000), sweep: true });
    expect(await eventTypes(invitation.id)).toEqual(["CREATED", "EXPIRED"]);

    setClock({ at: new Date(expiresAt.getTime() + 3600_000) });
    expect((await resend(app, owner, invitation.id)).errors).toBeUndefined();
    const renewed = await prisma.invitation.findUniqueOrThrow({ where: { id: rawId(invitation.id) } });
    await worker.runOnce({ now: renewed.expiresAt, sweep: true });
    expect(await eventTypes(invitation.id)).toEqual(["CREATED", "EXPIRED", "RESENT", "EXPIRED"]);
  });
});

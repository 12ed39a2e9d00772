/**
 * Webhooks: endpoints managed through GraphQL (organization:update), every lifecycle event POSTed to a real HTTP
 * receiver (node:http on 127.0.0.1, so WEBHOOK_ALLOW_PRIVATE=true) and verified with the `standardwebhooks` package,
 * failures retried with the same webhook-id and then FAILED without holding back the email, private addresses
 * refused at creation and again at delivery. The worker is stepped by hand (`runOnce`): no timers.
 *
 * The worker claims every due delivery of its database, so on PostgreSQL this file has a database of its own.
 */
import { createHmac, randomBytes } from "node:crypto";
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { Webhook } from "standardwebhooks";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { resetClock, setClock } from "../src/clock.js";
import { prisma } from "../src/db/client.js";
import { checkInvariants } from "../src/db/invariants.js";
import { WEBHOOK } from "../src/events/plan.js";
import { EMAIL } from "../src/events/record.js";
import { createWorker, type Worker } from "../src/events/worker.js";
import { createLogger } from "../src/logger.js";
import { isPublicAddress, publicOnlyLookup } from "../src/webhooks/address.js";
import { createWebhookSender, sanitizeExcerpt } from "../src/webhooks/sender.js";
import { loadConfig } from "../src/config.js";
import { createServer as createApiServer } from "../src/server.js";
import { startApp, TEST_SECRET, type GraphQLResponse, type TestApp, type TestUser } from "./helpers/app.js";
import { accept, addMember, createGroup, createOrg, decline, expectError, invite, rawId, remove, resend, revoke, type TestOrg } from "./helpers/fixtures.js";

let app: TestApp;
let receiver: Server;
let base: string;

interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}
const received: Received[] = [];
/** Requests left without an answer (the "hang" path), ended in afterAll. */
const hanging: ServerResponse[] = [];

beforeAll(async () => {
  app = await startApp({ ownDatabase: true, env: { WEBHOOK_ALLOW_PRIVATE: "true" } });
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const path = req.url ?? "";
      received.push({ path, headers: req.headers, body: Buffer.concat(chunks).toString("utf8") });
      if (path.startsWith("/ok")) {
        res.writeHead(204).end();
      } else if (path.startsWith("/fail")) {
        res.writeHead(500, { "content-type": "text/plain" }).end("boom\u0000\u001b[31m" + "x".repeat(5000));
      } else if (path.startsWith("/redirect")) {
        res.writeHead(302, { location: `${base}/ok/redirected` }).end();
      } else {
        hanging.push(res);
      }
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
});
afterEach(() => resetClock());
afterAll(async () => {
  for (const res of hanging) res.destroy();
  receiver.closeAllConnections();
  await new Promise<void>((resolve) => receiver.close(() => resolve()));
  await app?.close();
});

const logger = createLogger("silent");
/** Invitation ids whose email the stand-in email sender "sent". */
const emailed: string[] = [];

function worker(options: { allowPrivate?: boolean; timeoutMs?: number; maxAttempts?: number } = {}): Worker {
  return createWorker({
    senders: {
      [WEBHOOK]: createWebhookSender({ allowPrivate: options.allowPrivate ?? true, timeoutMs: options.timeoutMs ?? 1_000 }),
      [EMAIL]: async (delivery) => {
        emailed.push(delivery.invitationId);
        return "SENT";
      },
    },
    logger,
    maxAttempts: options.maxAttempts ?? 3,
    backoffMs: 1_000,
    pollMs: 1_000,
    sweepEveryMs: 0,
  });
}

/** Runs passes until nothing is due at `now` (each pass takes only the oldest delivery per invitation and destination). */
async function drain(w: Worker, now?: Date): Promise<void> {
  for (let pass = 0; pass < 20; pass += 1) {
    if ((await w.runOnce({ now })).claimed === 0) return;
  }
  throw new Error("the outbox did not drain");
}

const CREATE_ENDPOINT = /* GraphQL */ `
  mutation ($input: CreateWebhookEndpointInput!) {
    createWebhookEndpoint(input: $input) { secret webhookEndpoint { id url events createdAt createdBy { id } } }
  }
`;

async function createEndpoint(owner: TestUser, org: TestOrg, path: string, events?: string[]) {
  const data = await app.ok(CREATE_ENDPOINT, { input: { organizationId: org.id, url: `${base}${path}`, events } }, owner.token);
  return { id: data.createWebhookEndpoint.webhookEndpoint.id as string, secret: data.createWebhookEndpoint.secret as string };
}

const DELIVERIES = /* GraphQL */ `
  query ($id: ID!) {
    organization(id: $id) {
      webhookEndpoints(first: 10) {
        totalCount
        edges { node { id url deliveries {
          webhookId eventType invitationId status attempts responseStatusCode lastError createdAt lastAttemptAt nextAttemptAt deliveredAt
        } } }
      }
    }
  }
`;

const at = (path: string) => received.filter((r) => r.path === path);
const unique = (name: string) => `/${name}/${randomBytes(4).toString("hex")}`;

/** What a receiver does: verify with the standardwebhooks package, then parse. */
function verified(request: Received, secret: string) {
  return new Webhook(secret).verify(request.body, request.headers as Record<string, string>) as {
    type: string;
    timestamp: string;
    data: { invitation: Record<string, unknown> };
  };
}

describe("delivery", () => {
  it("every lifecycle event reaches the endpoint, signed, in order, without a token", async () => {
    const owner = await app.user({ name: "Olivia Owner" });
    const org = await createOrg(app, owner);
    const path = unique("ok");
    const endpoint = await createEndpoint(owner, org, path);
    const w = worker();

    const [a, b, c, d] = [await app.user(), await app.user(), await app.user(), await app.user()];
    const tokens: string[] = [];
    const ia = await invite(app, owner, org.id, a.email, { metadata: { plan: "pro" } });
    tokens.push(ia.token);
    const resent = await resend(app, owner, ia.id);
    tokens.push(resent.data.resendInvitation.token);
    expect((await accept(app, a, { invitationId: ia.id })).errors).toBeUndefined();
    const groupId = await createGroup(app, owner, org.id);
    const ib = await invite(app, owner, org.id, b.email, { groupIds: [groupId] });
    expect((await decline(app, b, { invitationId: ib.id })).errors).toBeUndefined();
    const ic = await invite(app, owner, org.id, c.email);
    expect((await revoke(app, owner, ic.id)).errors).toBeUndefined();
    const id = await invite(app, owner, org.id, d.email);
    expect((await remove(app, owner, id.id)).errors).toBeUndefined();
    // One that expires: made 8 days ago (7-day lifetime), swept now.
    setClock({ at: new Date(Date.now() - 8 * 86_400_000) });
    const ie = await invite(app, owner, org.id, (await app.user()).email);
    resetClock();
    tokens.push(ib.token, ic.token, id.token, ie.token);

    await w.runOnce({ sweep: true });
    await drain(w);

    const requests = at(path);
    const bodies = requests.map((r) => verified(r, endpoint.secret));
    const byInvitation = (invitationId: string) => bodies.filter((body) => body.data.invitation.id === invitationId).map((body) => body.type);
    expect(byInvitation(ia.id)).toEqual(["invitation.created", "invitation.resent", "invitation.accepted"]);
    expect(byInvitation(ib.id)).toEqual(["invitation.created", "invitation.declined"]);
    expect(byInvitation(ic.id)).toEqual(["invitation.created", "invitation.revoked"]);
    expect(byInvitation(id.id)).toEqual(["invitation.created", "invitation.deleted"]);
    expect(byInvitation(ie.id)).toEqual(["invitation.created", "invitation.expired"]);
    expect(new Set(bodies.map((body) => body.type)).size).toBe(7);

    // The body: the invitation as the change left it, in the API's own IDs; never a token.
    const acceptedBody = bodies.find((body) => body.type === "invitation.accepted")!;
    expect(acceptedBody.data.invitation).toMatchObject({
      id: ia.id,
      organizationId: org.id,
      email: a.email,
      status: "ACCEPTED",
      role: { id: org.roles.member, key: "member" },
      metadata: { plan: "pro" },
    });
    expect(Date.parse(acceptedBody.timestamp)).not.toBeNaN();
    expect(bodies.find((body) => body.type === "invitation.expired")!.data.invitation.status).toBe("EXPIRED");
    // Written by the same statement as the invitation, its groups are in the created event's body too.
    const createdB = bodies.find((body) => body.type === "invitation.created" && body.data.invitation.id === ib.id)!;
    expect(createdB.data.invitation).toMatchObject({ status: "PENDING", groupIds: [groupId], email: b.email, invitedById: expect.any(String) });
    expect(bodies.find((body) => body.type === "invitation.deleted")!.data.invitation.deletedAt).not.toBeNull();
    for (const request of requests) {
      for (const token of tokens) expect(request.body).not.toContain(token);
      expect(request.body).not.toMatch(/token/i);
      expect(request.headers["content-type"]).toBe("application/json");
    }

    // webhook-id is the event's id; the signature is the HMAC the specification describes (checked without the package).
    const first = requests[0]!;
    const events = await prisma.invitationEvent.findMany({ where: { organizationId: rawId(org.id) }, select: { id: true } });
    expect(events.map((e) => e.id)).toContain(first.headers["webhook-id"]);
    const key = Buffer.from(endpoint.secret.slice("whsec_".length), "base64");
    const signed = `${first.headers["webhook-id"]}.${first.headers["webhook-timestamp"]}.${first.body}`;
    expect(first.headers["webhook-signature"]).toBe(`v1,${createHmac("sha256", key).update(signed).digest("base64")}`);

    // Visible in the endpoint's deliveries, newest first.
    const list = (await app.ok(DELIVERIES, { id: org.id }, owner.token)).organization.webhookEndpoints;
    expect(list.totalCount).toBe(1);
    const deliveries = list.edges[0].node.deliveries;
    expect(deliveries).toHaveLength(requests.length);
    expect(deliveries.every((x: { status: string; responseStatusCode: number }) => x.status === "SENT" && x.responseStatusCode === 204)).toBe(true);
    const newestFirst = await prisma.outboxDelivery.findMany({ where: { endpointId: rawId(endpoint.id) }, orderBy: { id: "desc" } });
    expect(deliveries.map((x: { webhookId: string }) => x.webhookId)).toEqual(newestFirst.map((row) => row.eventId));
  });

  it("endpoints cost a change no extra statement: the deliveries are written with the event", async () => {
    const owner = await app.user();
    const plain = await createOrg(app, owner);
    const hooked = await createOrg(app, owner);
    await createEndpoint(owner, hooked, unique("ok"));
    await createEndpoint(owner, hooked, unique("ok"), ["invitation.created"]);
    await invite(app, owner, plain.id, (await app.user()).email); // warm-up
    const without = await app.countQueries(() => invite(app, owner, plain.id, `x-${randomBytes(4).toString("hex")}@example.test`));
    let invitation!: Awaited<ReturnType<typeof invite>>;
    const withEndpoints = await app.countQueries(async () => {
      invitation = await invite(app, owner, hooked.id, `y-${randomBytes(4).toString("hex")}@example.test`);
    });
    expect(withEndpoints.count).toBe(without.count);
    expect(await prisma.outboxDelivery.count({ where: { invitationId: rawId(invitation.id), destination: WEBHOOK } })).toBe(2);
  });

  it("a bulk invite (createInvitations) sends one created event per address", async () => {
    const owner = await app.user();
    const org = await createOrg(app, owner);
    const path = unique("ok");
    const endpoint = await createEndpoint(owner, org, path, ["invitation.created"]);
    const emails = [`bulk-a-${randomBytes(3).toString("hex")}@example.test`, `bulk-b-${randomBytes(3).toString("hex")}@example.test`];
    const data = await app.ok(
      `mutation ($input: CreateInvitationsInput!) { createInvitations(input: $input) { results { email token invitation { id } } } }`,
      { input: { organizationId: org.id, invitations: emails.map((email) => ({ email })) } },
      owner.token,
    );
    await drain(worker());
    const bodies = at(path).map((r) => verified(r, endpoint.secret));
    expect(bodies.map((b) => b.data.invitation.email).sort()).toEqual([...emails].sort());
    for (const result of data.createInvitations.results) {
      for (const request of at(path)) expect(request.body).not.toContain(result.token);
    }
  });

  it("sends only the subscribed types; unknown types are refused", async () => {
    const owner = await app.user();
    const org = await createOrg(app, owner);
    const path = unique("ok");
    const endpoint = await createEndpoint(owner, org, path, ["invitation.accepted", "invitation.accepted"]);
    const listed = await app.ok(`query ($id: ID!) { node(id: $id) { ... on WebhookEndpoint { events } } }`, { id: endpoint.id }, owner.token);
    expect(listed.node.events).toEqual(["invitation.accepted"]);
    const invitee = await app.user();
    const invitation = await invite(app, owner, org.id, invitee.email);
    await accept(app, invitee, { invitationId: invitation.id });
    await drain(worker());
    expect(at(path).map((r) => verified(r, endpoint.secret).type)).toEqual(["invitation.accepted"]);

    const bad = await app.gql(CREATE_ENDPOINT, { input: { organizationId: org.id, url: `${base}/ok`, events: ["invitation.created", "user.deleted"] } }, owner.token);
    expectError(bad, { code: "BAD_USER_INPUT", field: "events" });
  });

  it("a failing endpoint is retried with the same webhook-id, then FAILED; the email still goes out", async () => {
    const owner = await app.user();
    const org = await createOrg(app, owner);
    const path = unique("fail");
    const endpoint = await createEndpoint(owner, org, path);
    const invitation = await invite(app, owner, org.id, (await app.user()).email);
    const w = worker({ maxAttempts: 3 });

    await w.runOnce();
    expect(emailed).toContain(rawId(invitation.id));
    for (let attempt = 2; attempt <= 3; attempt += 1) {
      const [row] = await prisma.outboxDelivery.findMany({ where: { endpointId: rawId(endpoint.id) } });
      expect(row).toMatchObject({ status: "PENDING", attempts: attempt - 1, responseStatus: 500 });
      await w.runOnce({ now: row!.nextAttemptAt });
    }
    const requests = at(path);
    expect(requests).toHaveLength(3);
    expect(new Set(requests.map((r) => r.headers["webhook-id"])).size).toBe(1);
    for (const request of requests) expect(verified(request, endpoint.secret).type).toBe("invitation.created");

    const [delivery] = (await app.ok(DELIVERIES, { id: org.id }, owner.token)).organization.webhookEndpoints.edges[0].node.deliveries;
    expect(delivery).toMatchObject({ status: "FAILED", attempts: 3, responseStatusCode: 500, eventType: "invitation.created", invitationId: invitation.id, nextAttemptAt: null, deliveredAt: null });
    expect(delivery.webhookId).toBe(requests[0]!.headers["webhook-id"]);
    // A short, printable excerpt of the answer, nothing more.
    expect(delivery.lastError).toMatch(/^HTTP 500: boom \[31mx+$/);
    expect(delivery.lastError.length).toBeLessThan(300);
    expect(Date.parse(delivery.lastAttemptAt)).not.toBeNaN();

    const email = await app.ok(`query ($id: ID!) { invitation(id: $id) { delivery { status } } }`, { id: invitation.id }, owner.token);
    expect(email.invitation.delivery.status).toBe("SENT");
  });

  it("an endpoint that does not answer in time, or redirects, has failed; the next event waits behind it", async () => {
    const owner = await app.user();
    const org = await createOrg(app, owner);
    const hang = await createEndpoint(owner, org, unique("hang"));
    const redirect = await createEndpoint(owner, org, unique("redirect"));
    const invitee = await app.user();
    const invitation = await invite(app, owner, org.id, invitee.email);
    await revoke(app, owner, invitation.id);
    const w = worker({ timeoutMs: 300 });
    await w.runOnce();

    const rows = await prisma.outboxDelivery.findMany({ where: { invitationId: rawId(invitation.id) }, include: { event: true }, orderBy: { id: "asc" } });
    const of = (endpointId: string) => rows.filter((r) => r.endpointId === rawId(endpointId));
    expect(of(hang.id).map((r) => [r.event.type, r.status, r.attempts])).toEqual([["CREATED", "PENDING", 1], ["REVOKED", "PENDING", 0]]);
    expect(of(hang.id)[0]).toMatchObject({ lastError: "No answer within 300 ms.", responseStatus: null });
    expect(of(redirect.id)[0]).toMatchObject({ responseStatus: 302, lastError: "HTTP 302 (redirects are not followed)" });
    expect(received.filter((r) => r.path === "/ok/redirected")).toHaveLength(0);
    expect(emailed).toContain(rawId(invitation.id));
  });
});

describe("addresses", () => {
  it("classifies addresses with ipaddr.js: only public unicast passes", () => {
    for (const address of ["8.8.8.8", "2606:4700::1111"]) expect(isPublicAddress(address), address).toBe(true);
    for (const address of [
      "127.0.0.1", "10.0.0.1", "172.16.5.4", "192.168.1.1", "169.254.169.254", "100.64.0.1", "0.0.0.0", "224.0.0.1",
      "255.255.255.255", "::1", "::", "fe80::1", "fd00::1", "ff02::1", "::ffff:127.0.0.1", "::ffff:8.8.8.8", "64:ff9b::a00:1",
      "not an address",
    ]) {
      expect(isPublicAddress(address), address).toBe(false);
    }
  });

  it("the delivery lookup refuses a host name that resolves to a private address", async () => {
    const error = await new Promise<NodeJS.ErrnoException | null>((resolve) => publicOnlyLookup("localhost", {}, (e) => resolve(e)));
    expect(error?.code).toBe("ENONPUBLIC");
  });

  it("without WEBHOOK_ALLOW_PRIVATE, private, loopback and link-local URLs are refused (BAD_USER_INPUT on url)", async () => {
    // A second server on the same database, configured as in production (the database handle is process-wide).
    const strict = createApiServer({ config: loadConfig({ NODE_ENV: "test", JWT_SECRET: TEST_SECRET }), logger, isReady: () => true });
    const gql = async (url: string, token: string) => {
      const response = await strict.fetch("http://localhost/graphql", {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
        body: JSON.stringify({ query: CREATE_ENDPOINT, variables: { input: { organizationId: org.id, url } } }),
      });
      return (await response.json()) as GraphQLResponse;
    };
    const owner = await app.user();
    const org = await createOrg(app, owner);
    for (const url of [
      `${base}/ok`, // http
      "https://127.0.0.1/hook",
      "https://10.1.2.3/hook",
      "https://192.168.0.10/hook",
      "https://169.254.169.254/latest/meta-data",
      "https://100.64.0.1/hook",
      "https://0.0.0.0/hook",
      "https://224.0.0.1/hook",
      "https://[::1]/hook",
      "https://[fe80::1]/hook",
      "https://[fd12:3456::1]/hook",
      "https://[::ffff:127.0.0.1]/hook",
      "https://2130706433/hook", // 127.0.0.1 in another spelling
      "https://localhost/hook", // a host name resolving to loopback
      "https://user:pass@93.184.215.14/hook",
      "not a url",
    ]) {
      expectError(await gql(url, owner.token), { code: "BAD_USER_INPUT", field: "url" });
    }
    const ok = await gql("https://93.184.215.14/hook#frag", owner.token);
    expect(ok.errors).toBeUndefined();
    expect(ok.data.createWebhookEndpoint.webhookEndpoint.url).toBe("https://93.184.215.14/hook");
  });

  it("an endpoint that became private is refused again at delivery", async () => {
    const owner = await app.user();
    const org = await createOrg(app, owner);
    // Created while private addresses were allowed; delivered by a worker that does not allow them.
    const literal = await createEndpoint(owner, org, unique("ok"));
    const data = await app.ok(CREATE_ENDPOINT, { input: { organizationId: org.id, url: `https://localhost:1${unique("ok")}` } }, owner.token);
    const named = data.createWebhookEndpoint.webhookEndpoint.id as string;
    const invitation = await invite(app, owner, org.id, (await app.user()).email);
    await worker({ allowPrivate: false }).runOnce();
    const rows = await prisma.outboxDelivery.findMany({ where: { invitationId: rawId(invitation.id), destination: WEBHOOK } });
    const byEndpoint = new Map(rows.map((r) => [r.endpointId, r]));
    expect(byEndpoint.get(rawId(literal.id))).toMatchObject({ status: "PENDING", attempts: 1, lastError: "Refused: The URL must be https." });
    expect(byEndpoint.get(rawId(named))).toMatchObject({ status: "PENDING", attempts: 1, lastError: "Refused: localhost resolves to a non-public address." });
  });

  it("keeps a short printable excerpt", () => {
    expect(sanitizeExcerpt("a\u0000b\n\tc" + "z".repeat(500))).toMatch(/^a b cz{195}$/);
  });
});

describe("managing endpoints", () => {
  it("needs organization:update: an admin is FORBIDDEN, an outsider NOT_FOUND", async () => {
    const owner = await app.user();
    const org = await createOrg(app, owner);
    const endpoint = await createEndpoint(owner, org, unique("ok"));
    const admin = await addMember(app, org, owner, "admin");
    const outsider = await app.user();
    const input = { organizationId: org.id, url: `${base}/ok` };
    expectError(await app.gql(CREATE_ENDPOINT, { input }, admin.token), { code: "FORBIDDEN", reason: "MISSING_PERMISSION" });
    expectError(await app.gql(CREATE_ENDPOINT, { input }, outsider.token), { code: "NOT_FOUND" });
    expectError(await app.gql(DELIVERIES, { id: org.id }, admin.token), { code: "FORBIDDEN", reason: "MISSING_PERMISSION" });
    const del = `mutation ($id: ID!) { deleteWebhookEndpoint(input: { id: $id }) { deletedWebhookEndpointId } }`;
    expectError(await app.gql(del, { id: endpoint.id }, admin.token), { code: "FORBIDDEN", reason: "MISSING_PERMISSION" });
    expectError(await app.gql(del, { id: endpoint.id }, outsider.token), { code: "NOT_FOUND" });
    expectError(await app.gql(`query ($id: ID!) { node(id: $id) { id } }`, { id: endpoint.id }, admin.token), { code: "NOT_FOUND" });
    expect(await prisma.webhookEndpoint.count({ where: { organizationId: rawId(org.id) } })).toBe(1);
  });

  it("returns the secret once: no query can read it again", async () => {
    const owner = await app.user();
    const org = await createOrg(app, owner);
    const endpoint = await createEndpoint(owner, org, unique("ok"));
    expect(endpoint.secret).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
    expect(Buffer.from(endpoint.secret.slice(6), "base64")).toHaveLength(32);
    const read = await app.gql(`query ($id: ID!) { node(id: $id) { ... on WebhookEndpoint { id secret } } }`, { id: endpoint.id }, owner.token);
    expectError(read, { code: "GRAPHQL_VALIDATION_FAILED" });
    const types = await app.ok(`{ __schema { types { name fields { name } } } }`, {}, owner.token);
    const withSecret = types.__schema.types.filter((t: { fields: { name: string }[] | null }) => t.fields?.some((f) => f.name === "secret"));
    expect(withSecret.map((t: { name: string }) => t.name)).toEqual(["CreateWebhookEndpointPayload"]);
  });

  it("deleting an endpoint drops its pending deliveries and sends it nothing more", async () => {
    const owner = await app.user();
    const org = await createOrg(app, owner);
    const path = unique("ok");
    const endpoint = await createEndpoint(owner, org, path);
    const invitee = await app.user();
    const invitation = await invite(app, owner, org.id, invitee.email);
    const deleted = await app.ok(`mutation ($id: ID!) { deleteWebhookEndpoint(input: { id: $id }) { deletedWebhookEndpointId } }`, { id: endpoint.id }, owner.token);
    expect(deleted.deleteWebhookEndpoint.deletedWebhookEndpointId).toBe(endpoint.id);
    await revoke(app, owner, invitation.id);
    await drain(worker());
    expect(at(path)).toHaveLength(0);
    const rows = await prisma.outboxDelivery.findMany({ where: { endpointId: rawId(endpoint.id) } });
    expect(rows.map((r) => [r.status, r.lastError])).toEqual([["DISABLED", "The endpoint was deleted."]]);
    expect((await app.ok(DELIVERIES, { id: org.id }, owner.token)).organization.webhookEndpoints.totalCount).toBe(0);
    const session = await app.db.session();
    try {
      const results = await checkInvariants(session, { organizationIds: [rawId(org.id)] });
      expect(results.filter((r) => r.violations > 0)).toEqual([]);
    } finally {
      await session.release();
    }
  });
});

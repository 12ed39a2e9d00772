/**
 * Subscriptions over SSE, in process: graphql-sse's own client (distinct connections mode, the one Yoga serves on
 * /graphql) talks to the server on a local port (a real connection, so that a client going away closes it). Every lifecycle event arrives with the invitation's fields once its
 * transaction commits; who may subscribe is checked when subscribing and for every event; the open streams are
 * bounded and end when the hub ends them (shutdown).
 */
import { createClient, type Client, type ExecutionResult } from "graphql-sse";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { resetClock, setClock } from "../src/clock.js";
import { sweepExpired } from "../src/events/expiry.js";
import { addPublisher, transactionWithEvents, type PublishedEvent } from "../src/events/publish.js";
import * as lifecycle from "../src/invitations/lifecycle.js";
import type { SubscriptionHub } from "../src/subscriptions/hub.js";
import type { TestApp, TestUser } from "./helpers/app.js";
import { startLiveApp, type LiveApp, type Listening } from "./helpers/http.js";
import {
  accept,
  addMember,
  createOrg,
  decline,
  expire,
  invite,
  rawId,
  remove,
  resend,
  revoke,
  viewerId,
} from "./helpers/fixtures.js";

let app: TestApp;
let hub: SubscriptionHub;
let http: Listening;
let live: LiveApp | undefined;
beforeAll(async () => {
  live = await startLiveApp({ maxPerUser: 3, maxPerAddress: 1000 });
  ({ app, hub, http } = live);
});
afterAll(() => live?.close());

const clients: Client[] = [];
afterEach(() => {
  for (const client of clients.splice(0)) client.dispose();
  resetClock();
});

function sseClient(user: TestUser | null): Client {
  const client = createClient({
    url: http.url,
    headers: user ? { authorization: `Bearer ${user.token}` } : {},
    retryAttempts: 0,
  });
  clients.push(client);
  return client;
}

interface Stream {
  /** The next result (data or errors); fails after a bound. */
  next(): Promise<ExecutionResult<any>>;
  /** Resolves once the server completed the stream (or it failed). */
  ended: Promise<void>;
  /** Results received so far and not yet taken by next(). */
  buffered(): ExecutionResult<any>[];
}

/** Subscribes and waits until the server holds the stream (so no event of the test can come before it). */
async function subscribe(user: TestUser | null, query: string, variables: Record<string, unknown> = {}): Promise<Stream> {
  const before = hub.openCount();
  const results: ExecutionResult<any>[] = [];
  const waiters: Array<(r: ExecutionResult<any>) => void> = [];
  let endedResolve!: () => void;
  const ended = new Promise<void>((resolve) => (endedResolve = resolve));
  sseClient(user).subscribe(
    { query, variables },
    {
      next: (result) => {
        const waiter = waiters.shift();
        if (waiter) waiter(result as ExecutionResult<any>);
        else results.push(result as ExecutionResult<any>);
      },
      // An error status (401 for a missing token) is a NetworkError to graphql-sse; its body still holds the result.
      error: (error) => {
        void errorResult(error).then((result) => {
          const waiter = waiters.shift();
          if (waiter) waiter(result);
          else results.push(result);
          endedResolve();
        });
      },
      complete: () => endedResolve(),
    },
  );
  // Either the server holds the stream, or it answered at once (an error result, then complete).
  await Promise.race([waitFor(() => hub.openCount() > before), ended]);
  return {
    next: () =>
      results.length > 0
        ? Promise.resolve(results.shift()!)
        : bounded(new Promise<ExecutionResult<any>>((resolve) => waiters.push(resolve)), "the next subscription result"),
    ended,
    buffered: () => results,
  };
}

/** The GraphQL result in the body of a refused SSE request (`event: next`, `data: {...}`). */
async function errorResult(error: unknown): Promise<ExecutionResult<any>> {
  const response = (error as { response?: Response }).response;
  if (!response) return { errors: [{ message: String(error) }] } as never;
  const text = await response.text();
  const data = /^data: (\{.*\})$/m.exec(text)?.[1];
  return { ...(data ? JSON.parse(data) : { errors: [{ message: text }] }), status: response.status } as never;
}

async function waitFor(condition: () => boolean, what = "the subscription to open"): Promise<void> {
  for (let i = 0; i < 500 && !condition(); i += 1) await new Promise((r) => setTimeout(r, 10));
  if (!condition()) throw new Error(`timed out waiting for ${what}`);
}

function bounded<T>(promise: Promise<T>, what: string, ms = 10_000): Promise<T> {
  return Promise.race([promise, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms))]);
}

const ORG_EVENTS = /* GraphQL */ `
  subscription ($organizationId: ID!) {
    invitationEvents(organizationId: $organizationId) {
      type
      occurredAt
      actor { id name }
      invitation { id email status role { key } organization { id } }
    }
  }
`;

const VIEWER_EVENTS = /* GraphQL */ `
  subscription { viewerInvitationEvents { type occurredAt invitation { id email status organization { name } } } }
`;

describe("invitationEvents", () => {
  it("delivers created, resent, revoked, accepted, declined and deleted events with the invitation's fields", async () => {
    const owner = await app.user({ name: "Owner Ona" });
    const org = await createOrg(app, owner);
    const stream = await subscribe(owner, ORG_EVENTS, { organizationId: org.id });

    const revokedEmail = (await app.user()).email;
    const first = await invite(app, owner, org.id, revokedEmail, { roleId: org.roles.admin });
    const created = await stream.next();
    expect(created.errors).toBeUndefined();
    expect(created.data.invitationEvents).toMatchObject({
      type: "CREATED",
      occurredAt: expect.any(String),
      actor: { id: await viewerId(app, owner), name: "Owner Ona" },
      invitation: { id: first.id, email: revokedEmail, status: "PENDING", role: { key: "admin" }, organization: { id: org.id } },
    });

    expect((await resend(app, owner, first.id)).errors).toBeUndefined();
    expect((await stream.next()).data.invitationEvents).toMatchObject({ type: "RESENT", invitation: { id: first.id, status: "PENDING" } });

    expect((await revoke(app, owner, first.id)).errors).toBeUndefined();
    expect((await stream.next()).data.invitationEvents).toMatchObject({ type: "REVOKED", invitation: { id: first.id, status: "REVOKED" } });

    const invitee = await app.user({ name: "Invitee" });
    const second = await invite(app, owner, org.id, invitee.email);
    expect((await stream.next()).data.invitationEvents).toMatchObject({ type: "CREATED", invitation: { id: second.id } });
    expect((await accept(app, invitee, { invitationId: second.id })).errors).toBeUndefined();
    expect((await stream.next()).data.invitationEvents).toMatchObject({
      type: "ACCEPTED",
      actor: { id: await viewerId(app, invitee), name: "Invitee" },
      invitation: { id: second.id, status: "ACCEPTED" },
    });

    const decliner = await app.user();
    const third = await invite(app, owner, org.id, decliner.email);
    await stream.next();
    expect((await decline(app, decliner, { invitationId: third.id })).errors).toBeUndefined();
    expect((await stream.next()).data.invitationEvents).toMatchObject({ type: "DECLINED", invitation: { id: third.id, status: "DECLINED" } });

    expect((await remove(app, owner, third.id)).errors).toBeUndefined();
    // A deleted invitation is still shown in the event that reports its deletion.
    expect((await stream.next()).data.invitationEvents).toMatchObject({ type: "DELETED", invitation: { id: third.id } });
    expect(stream.buffered()).toEqual([]);
  });

  it("delivers EXPIRED from the expiry sweep, with no actor", async () => {
    const owner = await app.user();
    const org = await createOrg(app, owner);
    const invitation = await invite(app, owner, org.id, (await app.user()).email);
    const stream = await subscribe(owner, ORG_EVENTS, { organizationId: org.id });
    await expire(app, invitation.id);
    // The sweep claims every expired invitation of the database; this one is among them.
    for (let i = 0; i < 20 && (await sweepExpired(new Date())) > 0; i += 1);
    let result = await stream.next();
    while (result.data?.invitationEvents?.invitation?.id !== invitation.id) result = await stream.next();
    expect(result.data.invitationEvents).toMatchObject({ type: "EXPIRED", actor: null, invitation: { id: invitation.id, status: "EXPIRED" } });
  });

  it("publishes a transaction's events once it has committed, never before, never after a rollback", async () => {
    const owner = await app.user();
    const org = await createOrg(app, owner);
    const invitation = await invite(app, owner, org.id, (await app.user()).email);
    const actor = { kind: "user" as const, id: rawId(await viewerId(app, owner)) };
    const seen: PublishedEvent[] = [];
    const stop = addPublisher((event) => seen.push(event));
    try {
      const failed = transactionWithEvents(async (tx) => {
        await lifecycle.revoke(tx, actor, { id: rawId(invitation.id) }, new Date());
        expect(seen).toEqual([]);
        throw new Error("rolled back after the event was recorded");
      });
      await expect(failed).rejects.toThrow("rolled back");
      expect(seen).toEqual([]);

      await transactionWithEvents(async (tx) => {
        await lifecycle.revoke(tx, actor, { id: rawId(invitation.id) }, new Date());
        expect(seen).toEqual([]);
      });
      expect(seen).toEqual([
        expect.objectContaining({ type: "REVOKED", invitationId: rawId(invitation.id), organizationId: rawId(org.id), email: invitation.email }),
      ]);
    } finally {
      stop();
    }
  });

  it("delivers a CREATED event for each address of createInvitations", async () => {
    const owner = await app.user();
    const org = await createOrg(app, owner);
    const stream = await subscribe(owner, ORG_EVENTS, { organizationId: org.id });
    const emails = [(await app.user()).email, (await app.user()).email];
    const data = await app.ok(
      `mutation ($input: CreateInvitationsInput!) { createInvitations(input: $input) { results { invitation { id } } } }`,
      { input: { organizationId: org.id, invitations: emails.map((email) => ({ email })) } },
      owner.token,
    );
    const ids = data.createInvitations.results.map((r: { invitation: { id: string } }) => r.invitation.id);
    const seen = [await stream.next(), await stream.next()].map((r) => r.data.invitationEvents);
    expect(seen.map((e) => [e.type, e.invitation.id, e.invitation.email])).toEqual([
      ["CREATED", ids[0], emails[0]],
      ["CREATED", ids[1], emails[1]],
    ]);
  });

  it("does not deliver another organization's events", async () => {
    const owner = await app.user();
    const org = await createOrg(app, owner);
    const otherOrg = await createOrg(app, owner);
    const stream = await subscribe(owner, ORG_EVENTS, { organizationId: org.id });
    await invite(app, owner, otherOrg.id, (await app.user()).email);
    const mine = await invite(app, owner, org.id, (await app.user()).email);
    expect((await stream.next()).data.invitationEvents.invitation.id).toBe(mine.id);
  });

  it("refuses the anonymous (UNAUTHENTICATED), non-members (NOT_FOUND) and members without invitations:read (FORBIDDEN)", async () => {
    const owner = await app.user();
    const org = await createOrg(app, owner);
    const member = await addMember(app, org, owner, "member");
    const stranger = await app.user();

    const codes: Array<[string | undefined, string | undefined]> = [];
    for (const user of [null, stranger, member]) {
      const stream = await subscribe(user, ORG_EVENTS, { organizationId: org.id });
      const result = await stream.next();
      await bounded(stream.ended, "the refused stream to end");
      expect(result.data ?? null).toBeNull();
      codes.push([result.errors?.[0]?.extensions?.code as string | undefined, result.errors?.[0]?.extensions?.reason as string | undefined]);
    }
    expect(codes).toEqual([
      ["UNAUTHENTICATED", undefined],
      ["NOT_FOUND", undefined],
      ["FORBIDDEN", "MISSING_PERMISSION"],
    ]);
    expect(hub.openCount()).toBe(0);
  });

  it("ends the stream with FORBIDDEN at the first event after the subscriber lost invitations:read", async () => {
    const owner = await app.user();
    const org = await createOrg(app, owner);
    const admin = await addMember(app, org, owner, "admin");
    const stream = await subscribe(admin, ORG_EVENTS, { organizationId: org.id });
    await invite(app, owner, org.id, (await app.user()).email);
    expect((await stream.next()).data.invitationEvents.type).toBe("CREATED");

    // Demoted to member (no invitations:read), as a role change would.
    await app.db.prisma.membership.updateMany({
      where: { userId: rawId(await viewerId(app, admin)), organizationId: rawId(org.id) },
      data: { roleId: rawId(org.roles.member) },
    });
    const secret = await invite(app, owner, org.id, (await app.user()).email);
    const last = await stream.next();
    expect(last.data ?? null).toBeNull();
    expect(last.errors?.[0]?.extensions).toMatchObject({ code: "FORBIDDEN", reason: "MISSING_PERMISSION" });
    expect(JSON.stringify(last)).not.toContain(rawId(secret.id));
    await bounded(stream.ended, "the stream to complete");
    await waitFor(() => hub.openCount() === 0, "the stream to close on the server");
    await invite(app, owner, org.id, (await app.user()).email);
    expect(stream.buffered()).toEqual([]);
  });

  it("ends the stream (UNAUTHENTICATED) at the first event after its token expired", async () => {
    const owner = await app.user();
    const org = await createOrg(app, owner);
    const stream = await subscribe(owner, ORG_EVENTS, { organizationId: org.id });
    // The server's clock passes the token's expiry (test tokens live for hours, not days); the mutation itself is
    // still accepted, since the token check reads the real time.
    setClock({ offsetMs: 3 * 24 * 3600_000 });
    await invite(app, owner, org.id, (await app.user()).email);
    const last = await stream.next();
    expect(last.data ?? null).toBeNull();
    expect(last.errors?.[0]?.extensions).toMatchObject({ code: "UNAUTHENTICATED" });
    await bounded(stream.ended, "the stream to complete");
  });

  it("bounds the open subscriptions per user (RATE_LIMITED), and frees a slot when a client goes away", async () => {
    const owner = await app.user();
    const org = await createOrg(app, owner);
    const streams: Stream[] = [];
    for (let i = 0; i < 3; i += 1) streams.push(await subscribe(owner, ORG_EVENTS, { organizationId: org.id }));
    const refused = await subscribe(owner, ORG_EVENTS, { organizationId: org.id });
    expect((await refused.next()).errors?.[0]?.extensions).toMatchObject({ code: "RATE_LIMITED" });

    // Closing one client frees its slot on the server.
    const open = hub.openCount();
    clients[0]!.dispose();
    await waitFor(() => hub.openCount() === open - 1, "the disposed stream to close on the server");
    const again = await subscribe(owner, VIEWER_EVENTS);
    expect(again.buffered()).toEqual([]);
    expect(hub.openCount()).toBe(open);
  });

  it("ends every stream when the hub ends them (graceful shutdown)", async () => {
    const owner = await app.user();
    const org = await createOrg(app, owner);
    const streams = [await subscribe(owner, ORG_EVENTS, { organizationId: org.id }), await subscribe(owner, VIEWER_EVENTS)];
    hub.endAll();
    for (const stream of streams) await bounded(stream.ended, "the stream to complete");
    expect(hub.openCount()).toBe(0);
  });
});

describe("viewerInvitationEvents", () => {
  it("delivers the viewer's own invitations from every organization, and no one else's", async () => {
    const invitee = await app.user({ name: "Invitee" });
    const ownerA = await app.user();
    const ownerB = await app.user();
    const orgA = await createOrg(app, ownerA);
    const orgB = await createOrg(app, ownerB);
    const stream = await subscribe(invitee, VIEWER_EVENTS);

    await invite(app, ownerA, orgA.id, (await app.user()).email);
    const fromA = await invite(app, ownerA, orgA.id, invitee.email);
    const fromB = await invite(app, ownerB, orgB.id, invitee.email);
    const seen = [await stream.next(), await stream.next()].map((r) => r.data.viewerInvitationEvents);
    expect(seen).toEqual([
      { type: "CREATED", occurredAt: expect.any(String), invitation: { id: fromA.id, email: invitee.email, status: "PENDING", organization: { name: orgA.name } } },
      { type: "CREATED", occurredAt: expect.any(String), invitation: { id: fromB.id, email: invitee.email, status: "PENDING", organization: { name: orgB.name } } },
    ]);
    await revoke(app, ownerB, fromB.id);
    expect((await stream.next()).data.viewerInvitationEvents).toMatchObject({ type: "REVOKED", invitation: { id: fromB.id, status: "REVOKED" } });
  });

  it("refuses the anonymous with UNAUTHENTICATED (HTTP 401)", async () => {
    const stream = await subscribe(null, VIEWER_EVENTS);
    const result = await stream.next();
    expect(result.errors?.[0]?.extensions).toMatchObject({ code: "UNAUTHENTICATED" });
    expect((result as { status?: number }).status).toBe(401);
  });
});

describe("limits and transport", () => {
  it("applies the query limits to subscription documents", async () => {
    const owner = await app.user();
    const deep = `subscription { viewerInvitationEvents { invitation { organization { roles { id } } role { id } ${"invitee { pendingInvitations { edges { node { ".repeat(3)} id ${"} } } }".repeat(3)} } } }`;
    const stream = await subscribe(owner, deep);
    expect((await stream.next()).errors?.[0]?.extensions).toMatchObject({ code: "GRAPHQL_VALIDATION_FAILED" });
  });

  it("answers Accept: text/event-stream with an SSE stream that starts with a keep-alive comment", async () => {
    const owner = await app.user();
    const controller = new AbortController();
    const response = await fetch(http.url, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "text/event-stream", authorization: `Bearer ${owner.token}` },
      body: JSON.stringify({ query: VIEWER_EVENTS }),
      signal: controller.signal,
    });
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toContain("text/event-stream");
    const reader = response.body!.getReader();
    const { value } = await reader.read();
    expect(new TextDecoder().decode(value)).toBe(":\n\n");
    controller.abort();
    await reader.cancel().catch(() => {});
  });
});

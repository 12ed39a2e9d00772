/**
 * Invitation.events, the audit timeline (oldest first, with actor, paged by cursor, readable by whoever may read the
 * invitation), and organization.invitations(deliveryStatus:).
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { prisma } from "../src/db/client.js";
import { startApp, type TestApp } from "./helpers/app.js";
import { accept, createOrg, invite, rawId, resend } from "./helpers/fixtures.js";

let app: TestApp;
beforeAll(async () => {
  app = await startApp();
});
afterAll(() => app?.close());

const TIMELINE = /* GraphQL */ `
  query Timeline($id: ID!, $first: Int, $after: String) {
    invitation(id: $id) {
      events(first: $first, after: $after) {
        totalCount
        edges { cursor node { type occurredAt actor { id name } } }
        pageInfo { hasNextPage endCursor }
      }
    }
  }
`;

it("every change is on the timeline, oldest first, with who made it; the invitee and admins both read it", async () => {
  const owner = await app.user({ name: "Owner One" });
  const org = await createOrg(app, owner);
  const invitee = await app.user({ name: "Invitee Two" });
  const invitation = await invite(app, owner, org.id, invitee.email);
  await resend(app, owner, invitation.id);
  expect((await accept(app, invitee, { invitationId: invitation.id })).errors).toBeUndefined();

  for (const reader of [owner, invitee]) {
    const data = await app.ok(TIMELINE, { id: invitation.id }, reader.token);
    const { edges, totalCount } = data.invitation.events;
    expect(totalCount).toBe(3);
    expect(edges.map((e: any) => e.node.type)).toEqual(["CREATED", "RESENT", "ACCEPTED"]);
    expect(edges.map((e: any) => e.node.actor?.name)).toEqual(["Owner One", "Owner One", "Invitee Two"]);
    const times = edges.map((e: any) => Date.parse(e.node.occurredAt));
    expect([...times].sort((a, b) => a - b)).toEqual(times);
  }
});

it("pages with cursors", async () => {
  const owner = await app.user();
  const org = await createOrg(app, owner);
  const invitation = await invite(app, owner, org.id, `timeline-${Date.now()}@example.test`);
  for (let i = 0; i < 3; i += 1) await resend(app, owner, invitation.id);
  const first = (await app.ok(TIMELINE, { id: invitation.id, first: 2 }, owner.token)).invitation.events;
  expect(first.edges.map((e: any) => e.node.type)).toEqual(["CREATED", "RESENT"]);
  expect(first.pageInfo.hasNextPage).toBe(true);
  const second = (await app.ok(TIMELINE, { id: invitation.id, first: 2, after: first.pageInfo.endCursor }, owner.token)).invitation.events;
  expect(second.edges.map((e: any) => e.node.type)).toEqual(["RESENT", "RESENT"]);
  expect(second.pageInfo.hasNextPage).toBe(false);
  expect(second.totalCount).toBe(4);
});

it("someone who may not read the invitation does not see its timeline", async () => {
  const owner = await app.user();
  const org = await createOrg(app, owner);
  const invitation = await invite(app, owner, org.id, `hidden-${Date.now()}@example.test`);
  const stranger = await app.user();
  const result = await app.gql(TIMELINE, { id: invitation.id }, stranger.token);
  expect(result.errors?.[0]?.extensions?.code).toBe("NOT_FOUND");
});

it("organization.invitations filters by the email's delivery status", async () => {
  const owner = await app.user();
  const org = await createOrg(app, owner);
  const sent = await invite(app, owner, org.id, `sent-${Date.now()}@example.test`);
  const waiting = await invite(app, owner, org.id, `waiting-${Date.now()}@example.test`);
  await prisma.outboxDelivery.updateMany({ where: { invitationId: rawId(sent.id) }, data: { status: "SENT", token: null } });
  const list = async (deliveryStatus: string[]) =>
    (
      await app.ok(
        `query ($id: ID!, $d: [DeliveryStatus!]) { organization(id: $id) { invitations(deliveryStatus: $d) { totalCount edges { node { id delivery { status } } } } } }`,
        { id: org.id, d: deliveryStatus },
        owner.token,
      )
    ).organization.invitations;
  const sentList = await list(["SENT"]);
  expect(sentList.totalCount).toBe(1);
  expect(sentList.edges.map((e: any) => e.node.id)).toEqual([sent.id]);
  const pendingList = await list(["PENDING", "FAILED"]);
  expect(pendingList.edges.map((e: any) => e.node.id)).toEqual([waiting.id]);
  expect(pendingList.edges[0].node.delivery.status).toBe("PENDING");
});

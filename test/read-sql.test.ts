/**
 * src/db/read-sql.ts compiles Pothos' include/select queries to SQL of its own. Here every read it compiles is also
 * made through Prisma (readSqlCheck), and any difference in rows, fields, types or order of nested lists throws, so
 * each query below fails on a mismatch. The queries select every field of every list's nodes, nested relations,
 * counts and filtered relations, and rows in every state (answered, revoked, deleted, with metadata, groups, no
 * inviter); the shapes the benchmark and the lists use must compile (no fallback to Prisma).
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { readSqlCheck } from "../src/db/read-sql.js";
import { startApp, type TestApp, type TestUser } from "./helpers/app.js";
import { accept, addMember, createGroup, createOrg, invite, remove, revoke, type TestOrg } from "./helpers/fixtures.js";

let app: TestApp;
let owner: TestUser;
let invitee: TestUser;
let org: TestOrg;

beforeAll(async () => {
  app = await startApp();
  owner = await app.user({ name: "Owner" });
  invitee = await app.user({ name: "Invitee" });
  org = await createOrg(app, owner, { logoUrl: "https://example.com/logo.png" });
  const other = await createOrg(app, owner);
  const groupA = await createGroup(app, owner, org.id, "Zeta");
  const groupB = await createGroup(app, owner, org.id, "Alpha");
  await invite(app, owner, org.id, invitee.email, { groupIds: [groupA, groupB], metadata: { source: "test", n: [1, 2] } });
  await invite(app, owner, other.id, invitee.email);
  const accepted = await invite(app, owner, org.id, `member-${Date.now()}@example.test`, { roleId: org.roles.admin });
  const member = await app.user({ email: accepted.email });
  await accept(app, member, { invitationId: accepted.id });
  for (let i = 0; i < 3; i += 1) await invite(app, owner, org.id, `plain-${i}-${Date.now()}@example.test`);
  const revoked = await invite(app, owner, org.id, `revoked-${Date.now()}@example.test`);
  await revoke(app, owner, revoked.id);
  const deleted = await invite(app, owner, org.id, `deleted-${Date.now()}@example.test`);
  await remove(app, owner, deleted.id);
  await addMember(app, org, owner, "member", { groupIds: [groupA] });
  readSqlCheck.enabled = true;
});
afterAll(async () => {
  readSqlCheck.enabled = false;
  await app?.close();
});

const INVITATION_FIELDS = /* GraphQL */ `
  id email status metadata createdAt updatedAt expiresAt acceptedAt declinedAt revokedAt version
  organization { id name slug logoUrl memberCount seatLimit allowedEmailDomains createdAt viewerMembership { id role { key } } }
  role { id key name permissions }
  groups { id name }
  invitedBy { id name email avatarUrl }
  invitee { id name }
  delivery { status attempts lastError sentAt }
`;

it("the admin's list, every field, first and second page, with the same rows as Prisma", async () => {
  const query = `query ($id: ID!, $after: String) { organization(id: $id) { id name memberCount
    invitations(first: 4, after: $after) { totalCount pageInfo { endCursor hasNextPage } edges { node { ${INVITATION_FIELDS} } } } } }`;
  const first = await app.ok(query, { id: org.id }, owner.token);
  expect(first.organization.invitations.edges).toHaveLength(4);
  const second = await app.ok(query, { id: org.id, after: first.organization.invitations.pageInfo.endCursor }, owner.token);
  expect(second.organization.invitations.edges.length).toBeGreaterThan(0);
  const withGroups = [...first.organization.invitations.edges, ...second.organization.invitations.edges].find(
    (e: any) => e.node.groups.length === 2,
  );
  // Nested lists keep their order (groups by name).
  expect(withGroups.node.groups.map((g: any) => g.name)).toEqual(["Alpha", "Zeta"]);
  expect(withGroups.node.metadata).toEqual({ source: "test", n: [1, 2] });
});

it("the invitee's pending list (the benchmark's A) and the viewer's lists", async () => {
  const data = await app.ok(
    `{ pendingInvitations(first: 20) { totalCount edges { node { id organization { name logoUrl memberCount } role { key } invitedBy { name } } } }
       viewer { id email memberships(first: 5) { edges { node { id createdAt role { key permissions } organization { name } groups { name } user { name } } } }
         managedInvitations(first: 5) { edges { node { ${INVITATION_FIELDS} } } } } }`,
    {},
    invitee.token,
  );
  expect(data.pendingInvitations.totalCount).toBe(2);
  const mine = await app.ok(
    `{ viewer { managedInvitations(first: 10, status: [PENDING, REVOKED]) { edges { node { ${INVITATION_FIELDS} events(first: 5) { edges { node { type occurredAt actor { name } invitation { id } } } } } } } } }`,
    {},
    owner.token,
  );
  expect(mine.viewer.managedInvitations.edges.length).toBeGreaterThan(0);
});

it("members, roles, groups and webhook endpoints of an organization", async () => {
  await app.ok(
    `mutation ($input: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $input) { endpoint { id } } }`,
    { input: { organizationId: org.id, url: "https://8.8.8.8/hook", events: ["invitation.created"] } },
    owner.token,
  ).catch(() => undefined);
  const data = await app.ok(
    `query ($id: ID!) { organization(id: $id) { roles { id key name permissions } groups { id name }
       members(first: 10) { totalCount edges { node { id createdAt role { key } groups { name } user { id name email } organization { name } } } }
       webhookEndpoints(first: 5) { edges { node { id url events createdAt createdBy { name } deliveries { status attempts eventType } } } } } }`,
    { id: org.id },
    owner.token,
  );
  expect(data.organization.members.totalCount).toBeGreaterThanOrEqual(3);
});

it("the root look-ups: invitation(id), user(id), viewer, organization(id)", async () => {
  const list = await app.ok(`query ($id: ID!) { organization(id: $id) { invitations(first: 20) { edges { node { id invitedBy { id } } } } } }`, { id: org.id }, owner.token);
  for (const { node } of list.organization.invitations.edges) {
    const data = await app.ok(`query ($id: ID!, $user: ID!) { invitation(id: $id) { ${INVITATION_FIELDS} } user(id: $user) { id name email } viewer { id name email } }`, { id: node.id, user: node.invitedBy.id }, owner.token);
    expect(data.invitation.id).toBe(node.id);
    expect(data.user.id).toBe(node.invitedBy.id);
  }
});

it("the shapes of the lists compiled, and nothing fell back to Prisma", () => {
  expect(readSqlCheck.compiled).toBeGreaterThan(8);
  expect(readSqlCheck.fallbacks).toEqual([]);
});

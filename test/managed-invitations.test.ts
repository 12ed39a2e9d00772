/**
 * viewer.managedInvitations: the invitations of every organization where the viewer holds invitations:read, newest
 * first, with organization.invitations' filters and cursors.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { setClock, resetClock } from "../src/clock.js";
import { startApp, uniqueEmail, type TestApp } from "./helpers/app.js";
import { addMember, createOrg, expectError, expire, invite, revoke } from "./helpers/fixtures.js";

let app: TestApp;
beforeAll(async () => {
  app = await startApp();
});
afterAll(async () => {
  resetClock();
  await app?.close();
});

const MANAGED = /* GraphQL */ `
  query ($first: Int, $after: String, $status: [InvitationStatus!], $email: String) {
    viewer { managedInvitations(first: $first, after: $after, status: $status, email: $email) {
      totalCount
      pageInfo { hasNextPage endCursor }
      edges { node { id email status organization { id } } }
    } }
  }
`;

/** A viewer who is owner of A, admin of B (both with invitations:read) and plain member of C. */
async function enterprise() {
  const viewer = await app.user({ name: "Enterprise admin" });
  const other = await app.user({ name: "Other owner" });
  const a = await createOrg(app, viewer);
  const b = await createOrg(app, other);
  const c = await createOrg(app, other);
  const bInvite = await invite(app, other, b.id, viewer.email, { roleId: b.roles.admin });
  await app.ok(`mutation ($id: ID!) { acceptInvitation(input: { invitationId: $id }) { membership { id } } }`, { id: bInvite.id }, viewer.token);
  const cInvite = await invite(app, other, c.id, viewer.email);
  await app.ok(`mutation ($id: ID!) { acceptInvitation(input: { invitationId: $id }) { membership { id } } }`, { id: cInvite.id }, viewer.token);
  // Interleaved in time across the three organizations, a second apart (the clock moves, nothing sleeps).
  const start = Date.now();
  const made: { id: string; email: string; org: string }[] = [];
  for (let i = 0; i < 9; i += 1) {
    setClock({ at: new Date(start + (i + 1) * 1000) });
    const [org, inviter] = [
      [a, viewer],
      [b, other],
      [c, other],
    ][i % 3]! as [typeof a, typeof viewer];
    const email = uniqueEmail(`m${i}`);
    made.push({ ...(await invite(app, inviter, org.id, email)), org: org.id });
  }
  resetClock();
  return { viewer, other, a, b, c, made };
}

describe("viewer.managedInvitations", () => {
  it("lists the invitations of every organization where the viewer holds invitations:read, newest first, and pages through them", async () => {
    const { viewer, a, b, made } = await enterprise();
    const expected = made.filter((m) => m.org === a.id || m.org === b.id).reverse();
    const all = await app.ok(MANAGED, { first: 100 }, viewer.token);
    // B also holds the (accepted) invitation that made the viewer its admin.
    const ids = all.viewer.managedInvitations.edges.map((e: any) => e.node.id);
    expect(ids.slice(0, expected.length)).toEqual(expected.map((m) => m.id));
    expect(all.viewer.managedInvitations.totalCount).toBe(expected.length + 1);
    expect(new Set(all.viewer.managedInvitations.edges.map((e: any) => e.node.organization.id))).toEqual(new Set([a.id, b.id]));

    const walked: string[] = [];
    let after: string | null = null;
    for (let page = 0; page < 10; page += 1) {
      const data: any = await app.ok(MANAGED, { first: 2, after }, viewer.token);
      const connection = data.viewer.managedInvitations;
      walked.push(...connection.edges.map((e: any) => e.node.id));
      expect(connection.totalCount).toBe(expected.length + 1);
      if (!connection.pageInfo.hasNextPage) break;
      after = connection.pageInfo.endCursor;
    }
    expect(walked).toEqual(ids);
  });

  it("filters by status (EXPIRED derived) and by exact email, like organization.invitations", async () => {
    const { viewer, a, b, made } = await enterprise();
    const [first, second] = made.filter((m) => m.org === a.id || m.org === b.id);
    await revoke(app, viewer, first!.id);
    await expire(app, second!.id);
    const revoked = await app.ok(MANAGED, { status: ["REVOKED"] }, viewer.token);
    expect(revoked.viewer.managedInvitations.edges.map((e: any) => e.node.id)).toEqual([first!.id]);
    const expired = await app.ok(MANAGED, { status: ["EXPIRED"] }, viewer.token);
    expect(expired.viewer.managedInvitations.edges.map((e: any) => e.node)).toEqual([{ id: second!.id, email: second!.email, status: "EXPIRED", organization: { id: second!.org } }]);
    const byEmail = await app.ok(MANAGED, { email: ` ${second!.email.toUpperCase()} ` }, viewer.token);
    expect(byEmail.viewer.managedInvitations.totalCount).toBe(1);
    const pending = await app.ok(MANAGED, { status: ["PENDING"] }, viewer.token);
    expect(pending.viewer.managedInvitations.totalCount).toBe(4);
  });

  it("is empty for a viewer without invitations:read anywhere, and follows a role change at once", async () => {
    const owner = await app.user({ name: "Owner" });
    const org = await createOrg(app, owner);
    await invite(app, owner, org.id, uniqueEmail());
    const member = await addMember(app, org, owner, "member");
    const none = await app.ok(MANAGED, {}, member.token);
    expect(none.viewer.managedInvitations).toMatchObject({ totalCount: 0, edges: [], pageInfo: { hasNextPage: false, endCursor: null } });
    await app.ok(
      `mutation ($id: ID!, $p: [String!]) { updateRole(input: { roleId: $id, permissions: $p }) { role { id } } }`,
      { id: org.roles.member, p: ["members:read", "invitations:read"] },
      owner.token,
    );
    const some = await app.ok(MANAGED, {}, member.token);
    expect(some.viewer.managedInvitations.totalCount).toBe(2);
  });

  it("is the viewer's own (FORBIDDEN/NOT_SELF on another user), and checks its arguments (BAD_USER_INPUT with field)", async () => {
    const owner = await app.user({ name: "Owner" });
    const org = await createOrg(app, owner);
    const member = await addMember(app, org, owner, "member");
    const memberId = (await app.ok(`{ viewer { id } }`, {}, member.token)).viewer.id;
    expectError(await app.gql(`query ($id: ID!) { user(id: $id) { managedInvitations { totalCount } } }`, { id: memberId }, owner.token), {
      code: "FORBIDDEN",
      reason: "NOT_SELF",
    });
    expectError(await app.gql(MANAGED, { first: 101 }, owner.token), { code: "BAD_USER_INPUT", field: "first" });
    expectError(await app.gql(MANAGED, { after: "not-a-cursor" }, owner.token), { code: "BAD_USER_INPUT", field: "after" });
    expectError(await app.gql(MANAGED, { email: "not an email" }, owner.token), { code: "BAD_USER_INPUT", field: "email" });
    expectError(await app.gql(MANAGED, {}, null), { code: "UNAUTHENTICATED" });
  });
});

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signDevToken } from "../src/auth/token.js";
import { startApp, TEST_SECRET, uniqueEmail, type TestApp, type TestUser } from "./helpers/app.js";
import {
  accept,
  addMember,
  createGroup,
  createOrg,
  decline,
  expectError,
  expire,
  globalId,
  invite,
  revoke,
  viewerId,
} from "./helpers/fixtures.js";

let app: TestApp;
beforeAll(async () => {
  app = await startApp();
});
afterAll(() => app?.close());


const PENDING = /* GraphQL */ `
  {
    pendingInvitations { totalCount edges { node { id status organization { id name } } } }
    viewer { pendingInvitations { totalCount edges { node { id } } } }
  }
`;

describe("pending lists", () => {
  it("hold the viewer's pending invitations across organizations, newest first, leaving out expired and answered ones", async () => {
    const owner = await app.user();
    const invitee = await app.user();
    const orgs = await Promise.all([1, 2, 3, 4, 5, 6].map(() => createOrg(app, owner)));
    const first = await invite(app, owner, orgs[0]!.id, invitee.email);
    const expired = await invite(app, owner, orgs[1]!.id, invitee.email);
    await expire(app, expired.id);
    const second = await invite(app, owner, orgs[2]!.id, invitee.email);
    const declined = await invite(app, owner, orgs[3]!.id, invitee.email);
    await decline(app, invitee, { invitationId: declined.id });
    const revoked = await invite(app, owner, orgs[4]!.id, invitee.email);
    await revoke(app, owner, revoked.id);
    const third = await invite(app, owner, orgs[5]!.id, `  ${invitee.email.toUpperCase()}`);
    await invite(app, owner, orgs[0]!.id, uniqueEmail("someone-else"));

    const data = await app.ok(PENDING, {}, invitee.token);
    expect(data.pendingInvitations.edges.map((e: any) => e.node.id)).toEqual([third.id, second.id, first.id]);
    expect(data.pendingInvitations.totalCount).toBe(3);
    expect(data.pendingInvitations.edges.every((e: any) => e.node.status === "PENDING")).toBe(true);
    expect(data.pendingInvitations.edges[0].node.organization).toEqual({ id: orgs[5]!.id, name: orgs[5]!.name });
    expect(data.viewer.pendingInvitations.edges.map((e: any) => e.node.id)).toEqual([third.id, second.id, first.id]);
    expect(data.viewer.pendingInvitations.totalCount).toBe(3);
  });

  it("drop an invitation once it is accepted", async () => {
    const owner = await app.user();
    const invitee = await app.user();
    const org = await createOrg(app, owner);
    const invitation = await invite(app, owner, org.id, invitee.email);
    await accept(app, invitee, { invitationId: invitation.id });
    const data = await app.ok(PENDING, {}, invitee.token);
    expect(data.pendingInvitations.totalCount).toBe(0);
    expect(data.viewer.pendingInvitations.totalCount).toBe(0);
  });

  it("follow the email of the latest token: a user whose email changed sees invitations to the new address", async () => {
    const owner = await app.user();
    const org = await createOrg(app, owner);
    const user = await app.user();
    const newEmail = uniqueEmail("moved");
    const invitation = await invite(app, owner, org.id, newEmail);
    expect((await app.ok(PENDING, {}, user.token)).pendingInvitations.totalCount).toBe(0);
    const moved = await app.user({ sub: user.sub, email: newEmail });
    const data = await app.ok(PENDING, {}, moved.token);
    expect(data.pendingInvitations.edges.map((e: any) => e.node.id)).toEqual([invitation.id]);
  });

  it("user(id).pendingInvitations of anyone else is FORBIDDEN/NOT_SELF", async () => {
    const owner = await app.user();
    const org = await createOrg(app, owner);
    const member = await addMember(app, org, owner);
    const result = await app.gql(`query ($id: ID!) { user(id: $id) { pendingInvitations { totalCount } } }`, { id: await viewerId(app, member) }, owner.token);
    expectError(result, { code: "FORBIDDEN", reason: "NOT_SELF" });
    const own = await app.ok(`query ($id: ID!) { user(id: $id) { pendingInvitations { totalCount } } }`, { id: await viewerId(app, owner) }, owner.token);
    expect(own.user.pendingInvitations.totalCount).toBe(0);
  });
});

describe("users", () => {
  const USER = /* GraphQL */ `query ($id: ID!) { user(id: $id) { id name email } }`;

  it("user(id) shows the viewer and fellow members, with their emails", async () => {
    const owner = await app.user({ name: "Owner Person" });
    const org = await createOrg(app, owner);
    const member = await addMember(app, org, owner, "member", { name: "Member Person" });
    const self = await app.ok(USER, { id: await viewerId(app, member) }, member.token);
    expect(self.user).toMatchObject({ name: "Member Person", email: member.email });
    const fellow = await app.ok(USER, { id: await viewerId(app, owner) }, member.token);
    expect(fellow.user).toMatchObject({ name: "Owner Person", email: owner.email });
  });

  it("user(id) is NOT_FOUND for anyone who shares no organization with the viewer, and for unknown IDs", async () => {
    const a = await app.user();
    const b = await app.user();
    await createOrg(app, a);
    await createOrg(app, b);
    expectError(await app.gql(USER, { id: await viewerId(app, b) }, a.token), { code: "NOT_FOUND" });
    expectError(await app.gql(USER, { id: globalId("User", "00000000-0000-7000-8000-000000000000") }, a.token), { code: "NOT_FOUND" });
  });

  it("an invitee cannot look up the inviter through user(id) (NOT_FOUND): they share no organization yet", async () => {
    const owner = await app.user();
    const org = await createOrg(app, owner);
    const invitee = await app.user();
    await invite(app, owner, org.id, invitee.email);
    expectError(await app.gql(USER, { id: await viewerId(app, owner) }, invitee.token), { code: "NOT_FOUND" });
  });
});

describe("what an invitee sees through an invitation", () => {
  const PREVIEW = /* GraphQL */ `
    query ($id: ID!) {
      invitation(id: $id) {
        id email status expiresAt metadata
        role { id key name permissions }
        groups { id name }
        organization { id name slug logoUrl memberCount viewerMembership { id } }
        invitedBy { id name avatarUrl email }
      }
    }
  `;

  async function setup() {
    const ownerToken = await signDevToken(TEST_SECRET, {
      sub: `test|inviter-${Math.random().toString(36).slice(2)}`,
      email: uniqueEmail("inviter"),
      name: "Ingrid Inviter",
      picture: "https://img.example.test/ingrid.png",
    });
    const owner: TestUser = { sub: "", email: "", name: "Ingrid Inviter", token: ownerToken };
    const org = await createOrg(app, owner, { logoUrl: "https://img.example.test/logo.png" });
    await addMember(app, org, owner, "member");
    const group = await createGroup(app, owner, org.id, "Research");
    const invitee = await app.user();
    const invitation = await invite(app, owner, org.id, invitee.email, { groupIds: [group], metadata: { welcome: "hi" } });
    return { owner, org, group, invitee, invitation };
  }

  it("the preview: organization id, name, slug, logo and member count; role; groups; metadata; inviter id, name and avatar", async () => {
    const { owner, org, group, invitee, invitation } = await setup();
    const data = await app.ok(PREVIEW, { id: invitation.id }, invitee.token);
    expect(data.invitation).toMatchObject({
      id: invitation.id,
      email: invitee.email,
      status: "PENDING",
      metadata: { welcome: "hi" },
      role: { id: org.roles.member, key: "member", name: "Member", permissions: ["members:read"] },
      groups: [{ id: group, name: "Research" }],
      organization: { id: org.id, name: org.name, slug: org.slug, logoUrl: "https://img.example.test/logo.png", memberCount: 2, viewerMembership: null },
      invitedBy: { id: await viewerId(app, owner), name: "Ingrid Inviter", avatarUrl: "https://img.example.test/ingrid.png" },
    });
    // The inviter's email is not the invitee's to see.
    expect(data.invitation.invitedBy.email).toBeNull();
  });

  it("keeps the preview readable whatever the invitation's status (declined, expired)", async () => {
    const { org, invitee, invitation } = await setup();
    await decline(app, invitee, { invitationId: invitation.id });
    const declined = await app.ok(PREVIEW, { id: invitation.id }, invitee.token);
    expect(declined.invitation).toMatchObject({ status: "DECLINED", organization: { name: org.name, memberCount: 2 }, invitedBy: { name: "Ingrid Inviter" } });

    const other = await setup();
    await expire(app, other.invitation.id);
    const expired = await app.ok(PREVIEW, { id: other.invitation.id }, other.invitee.token);
    expect(expired.invitation).toMatchObject({ status: "EXPIRED", organization: { name: other.org.name } });
  });

  it("hides the member list, other invitations, and the organization's roles and groups lists", async () => {
    const { invitee, invitation } = await setup();
    const hidden: Array<[string, string, string]> = [
      ["organization", "members", "MISSING_PERMISSION"],
      ["organization", "invitations", "MISSING_PERMISSION"],
      ["organization", "roles", "MISSING_PERMISSION"],
      ["organization", "groups", "MISSING_PERMISSION"],
      ["invitedBy", "memberships", "NOT_SELF"],
      ["invitedBy", "pendingInvitations", "NOT_SELF"],
    ];
    for (const [parent, field, reason] of hidden) {
      const inner = field === "roles" || field === "groups" ? "{ id }" : "{ totalCount }";
      const result = await app.gql(`query ($id: ID!) { invitation(id: $id) { id ${parent} { ${field} ${inner} } } }`, { id: invitation.id }, invitee.token);
      expect(result.errors?.[0]?.extensions, field).toMatchObject({ code: "FORBIDDEN", reason });
      // The error nulls the nearest nullable parent: the hidden field is nowhere in the data.
      expect(JSON.stringify(result.data ?? null), field).not.toContain(`"${field}"`);
    }
  });

  it("an admin sees the invitee once the invitee is known, without the invitee's account email", async () => {
    const owner = await app.user();
    const org = await createOrg(app, owner);
    const email = uniqueEmail("future");
    const invitation = await invite(app, owner, org.id, email);
    const INVITEE = `query ($id: ID!) { invitation(id: $id) { email invitee { id email } } }`;
    expect((await app.ok(INVITEE, { id: invitation.id }, owner.token)).invitation).toEqual({ email, invitee: null });
    const invitee = await app.user({ email });
    const inviteeId = await viewerId(app, invitee);
    expect((await app.ok(INVITEE, { id: invitation.id }, owner.token)).invitation).toEqual({ email, invitee: { id: inviteeId, email: null } });
    await accept(app, invitee, { invitationId: invitation.id });
    // Now a fellow member: the email shows.
    expect((await app.ok(INVITEE, { id: invitation.id }, owner.token)).invitation).toEqual({ email, invitee: { id: inviteeId, email } });
  });

  it("invitation(id) is NOT_FOUND for members without invitations:read and for outsiders", async () => {
    const { owner, org, invitation } = await setup();
    const member = await addMember(app, org, owner, "member");
    const outsider = await app.user();
    for (const viewer of [member, outsider]) {
      expectError(await app.gql(PREVIEW, { id: invitation.id }, viewer.token), { code: "NOT_FOUND" });
    }
  });
});

describe("node(id)", () => {
  const NODE = /* GraphQL */ `
    query ($id: ID!) {
      node(id: $id) {
        __typename id
        ... on User { userName: name }
        ... on Organization { orgName: name }
        ... on Invitation { status }
        ... on Membership { role { key } }
        ... on Role { key }
        ... on Group { groupName: name }
      }
    }
  `;

  it("follows the visibility of user, organization and invitation", async () => {
    const owner = await app.user({ name: "Node Owner" });
    const org = await createOrg(app, owner);
    const invitee = await app.user();
    const outsider = await app.user();
    const member = await addMember(app, org, owner, "member");
    const invitation = await invite(app, owner, org.id, invitee.email);
    const ownerId = await viewerId(app, owner);

    const seen = async (viewer: TestUser, id: string) => (await app.ok(NODE, { id }, viewer.token)).node;
    expect(await seen(member, ownerId)).toEqual({ __typename: "User", id: ownerId, userName: "Node Owner" });
    expect(await seen(invitee, org.id)).toEqual({ __typename: "Organization", id: org.id, orgName: org.name });
    expect(await seen(invitee, invitation.id)).toEqual({ __typename: "Invitation", id: invitation.id, status: "PENDING" });
    expect(await seen(owner, invitation.id)).toMatchObject({ __typename: "Invitation" });

    for (const id of [ownerId, org.id, invitation.id]) {
      expectError(await app.gql(NODE, { id }, outsider.token), { code: "NOT_FOUND" });
    }
    expectError(await app.gql(NODE, { id: ownerId }, invitee.token), { code: "NOT_FOUND" });
    expectError(await app.gql(NODE, { id: invitation.id }, member.token), { code: "NOT_FOUND" });
  });

  it("shows memberships, roles and groups to members only", async () => {
    const owner = await app.user();
    const org = await createOrg(app, owner);
    const group = await createGroup(app, owner, org.id, "Ops");
    const membership = (await app.ok(`query ($id: ID!) { organization(id: $id) { viewerMembership { id } } }`, { id: org.id }, owner.token))
      .organization.viewerMembership.id;
    const member = await addMember(app, org, owner);
    const outsider = await app.user();
    const invitee = await app.user();
    await invite(app, owner, org.id, invitee.email);

    expect((await app.ok(NODE, { id: membership }, member.token)).node).toEqual({ __typename: "Membership", id: membership, role: { key: "owner" } });
    expect((await app.ok(NODE, { id: org.roles.admin }, member.token)).node).toEqual({ __typename: "Role", id: org.roles.admin, key: "admin" });
    expect((await app.ok(NODE, { id: group }, member.token)).node).toEqual({ __typename: "Group", id: group, groupName: "Ops" });
    for (const viewer of [outsider, invitee]) {
      for (const id of [membership, org.roles.admin, group]) {
        expectError(await app.gql(NODE, { id }, viewer.token), { code: "NOT_FOUND" });
      }
    }
  });

  it("is NOT_FOUND for a well-formed ID of an unknown type", async () => {
    const user = await app.user();
    expectError(await app.gql(NODE, { id: globalId("Secret", "00000000-0000-7000-8000-000000000000") }, user.token), { code: "NOT_FOUND" });
  });
});

describe("authentication", () => {
  it("viewer without a token is UNAUTHENTICATED, as are the other viewer-bound queries", async () => {
    for (const query of [`{ viewer { id } }`, `{ pendingInvitations { totalCount } }`]) {
      const result = await app.gql(query, {}, null);
      expectError(result, { code: "UNAUTHENTICATED" });
      expect(result.data ?? null).toBeNull();
    }
    const owner = await app.user();
    const org = await createOrg(app, owner);
    expectError(await app.gql(`query ($id: ID!) { organization(id: $id) { id } }`, { id: org.id }, null), { code: "UNAUTHENTICATED" });
    expectError(await app.gql(`query ($id: ID!) { node(id: $id) { id } }`, { id: org.id }, null), { code: "UNAUTHENTICATED" });
  });

  it("a bad, wrongly signed or expired token is UNAUTHENTICATED, never anonymous", async () => {
    const claims = { sub: "test|bad-token", email: uniqueEmail("bad") };
    const tokens = [
      "not-a-jwt",
      await signDevToken("another-secret-0123456789-0123456789-0123456789", claims),
      await signDevToken(TEST_SECRET, claims, { expiresIn: Math.floor(Date.now() / 1000) - 60 }),
    ];
    for (const token of tokens) {
      const result = await app.gql(`{ viewer { id } }`, {}, token);
      expectError(result, { code: "UNAUTHENTICATED" });
    }
    // Even for fields that need no viewer-specific data, a bad token is refused rather than read as anonymous.
    const response = await app.fetch("/graphql", {
      method: "POST",
      headers: { "content-type": "application/json", authorization: "Bearer not-a-jwt" },
      body: JSON.stringify({ query: "{ __typename }" }),
    });
    const body = (await response.json()) as { errors?: Array<{ extensions?: { code?: string } }> };
    expect(body.errors?.[0]?.extensions?.code).toBe("UNAUTHENTICATED");
  });
});

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { errorOf, startApp, type TestApp } from "./helpers/app.js";
import {
  addMember,
  CREATE_ORGANIZATION,
  createGroup,
  createOrg,
  expectError,
  expire,
  invite,
  rawId,
  uniqueName,
} from "./helpers/fixtures.js";

let app: TestApp;
beforeAll(async () => {
  app = await startApp();
});
afterAll(() => app?.close());

const ALL_PERMISSIONS = [
  "organization:update",
  "members:read",
  "members:manage",
  "invitations:read",
  "invitations:create",
  "invitations:revoke",
  "roles:manage",
];

const ORGANIZATION = /* GraphQL */ `
  query ($id: ID!) {
    organization(id: $id) {
      id name slug logoUrl memberCount
      viewerMembership { id role { key } }
    }
  }
`;

describe("createOrganization", () => {
  it("makes the viewer the owner and creates the owner, admin and member roles with their permissions", async () => {
    const owner = await app.user({ name: "Olga" });
    const data = await app.ok(
      /* GraphQL */ `
        mutation ($input: CreateOrganizationInput!) {
          createOrganization(input: $input) {
            organization {
              id name memberCount createdAt
              roles { key permissions }
              viewerMembership { role { key } user { id } }
            }
          }
        }
      `,
      { input: { name: uniqueName("Acme") } },
      owner.token,
    );
    const org = data.createOrganization.organization;
    expect(org.memberCount).toBe(1);
    expect(new Date(org.createdAt).toISOString()).toBe(org.createdAt);
    expect(org.viewerMembership.role.key).toBe("owner");
    const roles = Object.fromEntries(org.roles.map((r: { key: string; permissions: string[] }) => [r.key, [...r.permissions].sort()]));
    expect(Object.keys(roles).sort()).toEqual(["admin", "member", "owner"]);
    expect(roles.owner).toEqual([...ALL_PERMISSIONS].sort());
    expect(roles.admin).toEqual(["invitations:create", "invitations:read", "invitations:revoke", "members:read"]);
    expect(roles.member).toEqual(["members:read"]);

    const viewer = await app.ok(/* GraphQL */ `{ viewer { id } }`, {}, owner.token);
    expect(org.viewerMembership.user.id).toBe(viewer.viewer.id);
  });

  it("derives the slug from the name when none is given", async () => {
    const owner = await app.user();
    const suffix = Math.random().toString(36).slice(2, 8);
    const org = await createOrg(app, owner, { name: `  Ácme Widgets, Inc. ${suffix} ` });
    expect(org.slug).toBe(`acme-widgets-inc-${suffix}`);
    expect(org.name).toBe(`Ácme Widgets, Inc. ${suffix}`);
  });

  it("gives a derived slug that is taken a different one instead of failing", async () => {
    const owner = await app.user();
    const name = uniqueName("Twin");
    const first = await createOrg(app, owner, { name });
    const second = await createOrg(app, owner, { name });
    expect(second.slug).not.toBe(first.slug);
    expect(second.slug.startsWith(first.slug)).toBe(true);
  });

  it("keeps an explicit slug and stores the logo URL", async () => {
    const owner = await app.user();
    const slug = `explicit-${Math.random().toString(36).slice(2, 10)}`;
    const org = await app.ok(CREATE_ORGANIZATION, { input: { name: "Whatever", slug, logoUrl: "https://cdn.example.test/logo.png" } }, owner.token);
    expect(org.createOrganization.organization).toMatchObject({ slug, logoUrl: "https://cdn.example.test/logo.png" });
  });

  it("refuses a slug that is taken with CONFLICT/SLUG_TAKEN and creates nothing", async () => {
    const owner = await app.user();
    const other = await app.user();
    const slug = `taken-${Math.random().toString(36).slice(2, 10)}`;
    await createOrg(app, owner, { slug });
    const name = uniqueName("Second");
    const result = await app.gql(CREATE_ORGANIZATION, { input: { name, slug } }, other.token);
    expectError(result, { code: "CONFLICT", reason: "SLUG_TAKEN" });
    expect(await app.db.prisma.organization.count({ where: { name } })).toBe(0);
    const memberships = await app.ok(/* GraphQL */ `{ viewer { memberships { totalCount } } }`, {}, other.token);
    expect(memberships.viewer.memberships.totalCount).toBe(0);
  });

  it("concurrent creations with one slug: exactly one succeeds, the others are CONFLICT/SLUG_TAKEN", async () => {
    const users = await Promise.all([1, 2, 3, 4].map(() => app.user()));
    const slug = `race-${Math.random().toString(36).slice(2, 10)}`;
    const results = await Promise.all(users.map((u) => app.gql(CREATE_ORGANIZATION, { input: { name: "Race", slug } }, u.token)));
    expect(results.filter((r) => !r.errors)).toHaveLength(1);
    for (const failed of results.filter((r) => r.errors)) expectError(failed, { code: "CONFLICT", reason: "SLUG_TAKEN" });
    expect(await app.db.prisma.organization.count({ where: { slug } })).toBe(1);
  });

  it("rejects a malformed slug with BAD_USER_INPUT on field slug", async () => {
    const owner = await app.user();
    for (const slug of ["Upper", "-lead", "has space", "x".repeat(65)]) {
      const result = await app.gql(CREATE_ORGANIZATION, { input: { name: "Bad slug", slug } }, owner.token);
      expectError(result, { code: "BAD_USER_INPUT", field: "slug" });
    }
  });

  it("rejects a logo that is not an http(s) URL with BAD_USER_INPUT on field logoUrl", async () => {
    const owner = await app.user();
    const result = await app.gql(CREATE_ORGANIZATION, { input: { name: "Logo", logoUrl: "javascript:alert(1)" } }, owner.token);
    expectError(result, { code: "BAD_USER_INPUT", field: "logoUrl" });
  });

  it("needs a token: UNAUTHENTICATED without one", async () => {
    const result = await app.gql(CREATE_ORGANIZATION, { input: { name: "Anon" } }, null);
    expectError(result, { code: "UNAUTHENTICATED" });
  });
});

describe("createGroup", () => {
  it("lets an owner (members:manage) create a group that members then see", async () => {
    const owner = await app.user();
    const org = await createOrg(app, owner);
    const groupId = await createGroup(app, owner, org.id, "Engineering");
    const member = await addMember(app, org, owner, "member");
    const data = await app.ok(/* GraphQL */ `query ($id: ID!) { organization(id: $id) { groups { id name } } }`, { id: org.id }, member.token);
    expect(data.organization.groups).toEqual([{ id: groupId, name: "Engineering" }]);
  });

  it("refuses a second group with the same name in one organization with CONFLICT/GROUP_NAME_TAKEN", async () => {
    const owner = await app.user();
    const org = await createOrg(app, owner);
    await createGroup(app, owner, org.id, "Design");
    const result = await app.gql(
      /* GraphQL */ `mutation ($input: CreateGroupInput!) { createGroup(input: $input) { group { id } } }`,
      { input: { organizationId: org.id, name: "Design" } },
      owner.token,
    );
    expectError(result, { code: "CONFLICT", reason: "GROUP_NAME_TAKEN" });
  });

  it("allows the same group name in two organizations", async () => {
    const owner = await app.user();
    const a = await createOrg(app, owner);
    const b = await createOrg(app, owner);
    await createGroup(app, owner, a.id, "Support");
    await expect(createGroup(app, owner, b.id, "Support")).resolves.toBeTruthy();
  });

  it("needs members:manage: an admin gets FORBIDDEN/MISSING_PERMISSION", async () => {
    const owner = await app.user();
    const org = await createOrg(app, owner);
    const admin = await addMember(app, org, owner, "admin");
    const result = await app.gql(
      /* GraphQL */ `mutation ($input: CreateGroupInput!) { createGroup(input: $input) { group { id } } }`,
      { input: { organizationId: org.id, name: "Nope" } },
      admin.token,
    );
    expectError(result, { code: "FORBIDDEN", reason: "MISSING_PERMISSION" });
    expect(await app.db.prisma.group.count({ where: { organizationId: rawId(org.id) } })).toBe(0);
  });

  it("answers NOT_FOUND to an outsider", async () => {
    const owner = await app.user();
    const outsider = await app.user();
    const org = await createOrg(app, owner);
    const result = await app.gql(
      /* GraphQL */ `mutation ($input: CreateGroupInput!) { createGroup(input: $input) { group { id } } }`,
      { input: { organizationId: org.id, name: "Nope" } },
      outsider.token,
    );
    expectError(result, { code: "NOT_FOUND" });
  });
});

describe("organization(id)", () => {
  it("is visible to members, with memberCount and their viewerMembership", async () => {
    const owner = await app.user();
    const org = await createOrg(app, owner, { logoUrl: "https://example.test/l.png" });
    const member = await addMember(app, org, owner, "member");
    const data = await app.ok(ORGANIZATION, { id: org.id }, member.token);
    expect(data.organization).toMatchObject({ id: org.id, name: org.name, slug: org.slug, logoUrl: "https://example.test/l.png", memberCount: 2 });
    expect(data.organization.viewerMembership.role.key).toBe("member");
  });

  it("is visible to an invitee with a pending invitation, with viewerMembership null", async () => {
    const owner = await app.user();
    const org = await createOrg(app, owner);
    const invitee = await app.user();
    await invite(app, owner, org.id, invitee.email);
    const data = await app.ok(ORGANIZATION, { id: org.id }, invitee.token);
    expect(data.organization).toMatchObject({ id: org.id, name: org.name, memberCount: 1, viewerMembership: null });
  });

  it("is NOT_FOUND for an outsider, and for an invitee whose invitation expired", async () => {
    const owner = await app.user();
    const org = await createOrg(app, owner);
    const outsider = await app.user();
    expectError(await app.gql(ORGANIZATION, { id: org.id }, outsider.token), { code: "NOT_FOUND" });

    const invitee = await app.user();
    const invitation = await invite(app, owner, org.id, invitee.email);
    await expire(app, invitation.id);
    const result = await app.gql(ORGANIZATION, { id: org.id }, invitee.token);
    expectError(result, { code: "NOT_FOUND" });
    expect(result.data?.organization ?? null).toBeNull();
  });

  it("is NOT_FOUND for an invitee who declined", async () => {
    const owner = await app.user();
    const org = await createOrg(app, owner);
    const invitee = await app.user();
    const invitation = await invite(app, owner, org.id, invitee.email);
    await app.ok(
      /* GraphQL */ `mutation ($input: DeclineInvitationInput!) { declineInvitation(input: $input) { invitation { id } } }`,
      { input: { invitationId: invitation.id } },
      invitee.token,
    );
    expectError(await app.gql(ORGANIZATION, { id: org.id }, invitee.token), { code: "NOT_FOUND" });
  });

  it("is NOT_FOUND for an ID that names no organization", async () => {
    const user = await app.user();
    const missing = Buffer.from("Organization:00000000-0000-7000-8000-000000000000").toString("base64url");
    expectError(await app.gql(ORGANIZATION, { id: missing }, user.token), { code: "NOT_FOUND" });
  });
});

describe("Organization.members", () => {
  const MEMBERS = /* GraphQL */ `
    query ($id: ID!) {
      organization(id: $id) {
        memberCount
        members { totalCount edges { node { role { key } user { id email name } } } }
      }
    }
  `;

  it("lists members newest first, with their roles and emails, to a member", async () => {
    const owner = await app.user({ name: "Owner" });
    const org = await createOrg(app, owner);
    const admin = await addMember(app, org, owner, "admin", { name: "Admin" });
    const member = await addMember(app, org, owner, "member", { name: "Member" });
    const data = await app.ok(MEMBERS, { id: org.id }, member.token);
    expect(data.organization.memberCount).toBe(3);
    expect(data.organization.members.totalCount).toBe(3);
    expect(data.organization.members.edges.map((e: any) => [e.node.role.key, e.node.user.email, e.node.user.name])).toEqual([
      ["member", member.email, "Member"],
      ["admin", admin.email, "Admin"],
      ["owner", owner.email, "Owner"],
    ]);
  });

  it("stays hidden from an invitee who is not a member yet (FORBIDDEN/MISSING_PERMISSION)", async () => {
    const owner = await app.user();
    const org = await createOrg(app, owner);
    const invitee = await app.user();
    await invite(app, owner, org.id, invitee.email);
    const result = await app.gql(MEMBERS, { id: org.id }, invitee.token);
    expectError(result, { code: "FORBIDDEN", reason: "MISSING_PERMISSION" });
    expect(result.data?.organization ?? null).toBeNull();
  });

  it("hides roles and groups from an invitee who is not a member yet", async () => {
    const owner = await app.user();
    const org = await createOrg(app, owner);
    const invitee = await app.user();
    await invite(app, owner, org.id, invitee.email);
    for (const field of ["roles { id }", "groups { id }"]) {
      const result = await app.gql(`query ($id: ID!) { organization(id: $id) { ${field} } }`, { id: org.id }, invitee.token);
      expectError(result, { code: "FORBIDDEN", reason: "MISSING_PERMISSION" });
    }
  });
});

describe("User.memberships", () => {
  const MEMBERSHIPS = /* GraphQL */ `
    { viewer { memberships { totalCount edges { node { organization { id } role { key } createdAt } } } } }
  `;

  it("lists the viewer's memberships across organizations, newest first", async () => {
    const owner = await app.user();
    const user = await app.user();
    const first = await createOrg(app, user);
    const second = await createOrg(app, owner);
    const invitation = await invite(app, owner, second.id, user.email, { roleId: second.roles.admin });
    await app.ok(
      /* GraphQL */ `mutation ($input: AcceptInvitationInput!) { acceptInvitation(input: $input) { membership { id } } }`,
      { input: { invitationId: invitation.id } },
      user.token,
    );
    const data = await app.ok(MEMBERSHIPS, {}, user.token);
    expect(data.viewer.memberships.totalCount).toBe(2);
    expect(data.viewer.memberships.edges.map((e: any) => [e.node.organization.id, e.node.role.key])).toEqual([
      [second.id, "admin"],
      [first.id, "owner"],
    ]);
  });

  it("is self only: a fellow member's memberships are FORBIDDEN/NOT_SELF", async () => {
    const owner = await app.user();
    const org = await createOrg(app, owner);
    const member = await addMember(app, org, owner);
    const ownerId = (await app.ok(`{ viewer { id } }`, {}, owner.token)).viewer.id;
    const result = await app.gql(/* GraphQL */ `query ($id: ID!) { user(id: $id) { id memberships { totalCount } } }`, { id: ownerId }, member.token);
    expectError(result, { code: "FORBIDDEN", reason: "NOT_SELF" });
    expect(errorOf(result).code).not.toBe("INTERNAL_SERVER_ERROR");
  });
});

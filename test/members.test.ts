/**
 * Member management (updateMembership, removeMember, leaveOrganization), custom roles (createRole, updateRole,
 * deleteRole) and groups (updateGroup, deleteGroup): every rule and error code, through the real server.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startApp, uniqueEmail, type TestApp, type TestUser } from "./helpers/app.js";
import {
  accept,
  addMember,
  createGroup,
  createOrg,
  expectError,
  globalId,
  invite,
  revoke,
  type TestOrg,
} from "./helpers/fixtures.js";

let app: TestApp;
beforeAll(async () => {
  app = await startApp();
});
afterAll(() => app?.close());

const UPDATE_MEMBERSHIP = /* GraphQL */ `
  mutation ($input: UpdateMembershipInput!) { updateMembership(input: $input) { membership { id role { key } groups { name } } } }
`;
const REMOVE_MEMBER = /* GraphQL */ `mutation ($input: RemoveMemberInput!) { removeMember(input: $input) { removedMembershipId } }`;
const LEAVE = /* GraphQL */ `mutation ($input: LeaveOrganizationInput!) { leaveOrganization(input: $input) { removedMembershipId } }`;
const CREATE_ROLE = /* GraphQL */ `mutation ($input: CreateRoleInput!) { createRole(input: $input) { role { id key name permissions } } }`;
const UPDATE_ROLE = /* GraphQL */ `mutation ($input: UpdateRoleInput!) { updateRole(input: $input) { role { id key name permissions } } }`;
const DELETE_ROLE = /* GraphQL */ `mutation ($input: DeleteRoleInput!) { deleteRole(input: $input) { deletedRoleId } }`;
const UPDATE_GROUP = /* GraphQL */ `mutation ($input: UpdateGroupInput!) { updateGroup(input: $input) { group { id name } } }`;
const DELETE_GROUP = /* GraphQL */ `mutation ($input: DeleteGroupInput!) { deleteGroup(input: $input) { deletedGroupId } }`;

/** The membership ID of `user` in `org`, from the user's own memberships. */
async function membershipOf(user: TestUser, org: TestOrg): Promise<string> {
  const data = await app.ok(`{ viewer { memberships(first: 100) { edges { node { id organization { id } } } } } }`, {}, user.token);
  const edge = data.viewer.memberships.edges.find((e: any) => e.node.organization.id === org.id);
  if (!edge) throw new Error("not a member");
  return edge.node.id;
}

async function roleKeyOf(reader: TestUser, membershipId: string): Promise<string> {
  const data = await app.ok(`query ($id: ID!) { node(id: $id) { ... on Membership { role { key } } } }`, { id: membershipId }, reader.token);
  return data.node.role.key;
}

/** A custom role made by the owner, and a user holding it. */
async function withCustomRole(owner: TestUser, org: TestOrg, permissions: string[], name = "Manager") {
  const role = (await app.ok(CREATE_ROLE, { input: { organizationId: org.id, name, permissions } }, owner.token)).createRole.role;
  const user = await app.user({ name });
  const invitation = await invite(app, owner, org.id, user.email, { roleId: role.id });
  expect((await accept(app, user, { invitationId: invitation.id })).errors).toBeUndefined();
  return { role, user };
}

const MANAGER = ["members:read", "members:manage", "invitations:read", "invitations:create", "invitations:revoke"];

async function team() {
  const owner = await app.user({ name: "Owner" });
  const org = await createOrg(app, owner);
  const admin = await addMember(app, org, owner, "admin");
  const member = await addMember(app, org, owner, "member");
  const outsider = await app.user({ name: "Outsider" });
  await app.ok(`{ viewer { id } }`, {}, outsider.token);
  return { owner, org, admin, member, outsider };
}

describe("updateMembership", () => {
  it("changes a member's role and replaces their groups; [] removes every group", async () => {
    const { owner, org, member } = await team();
    const a = await createGroup(app, owner, org.id, "Alpha");
    const b = await createGroup(app, owner, org.id, "Beta");
    const id = await membershipOf(member, org);
    const changed = await app.ok(UPDATE_MEMBERSHIP, { input: { membershipId: id, roleId: org.roles.admin, groupIds: [b, a] } }, owner.token);
    expect(changed.updateMembership.membership).toEqual({ id, role: { key: "admin" }, groups: [{ name: "Alpha" }, { name: "Beta" }] });
    const groupsOnly = await app.ok(UPDATE_MEMBERSHIP, { input: { membershipId: id, groupIds: [] } }, owner.token);
    expect(groupsOnly.updateMembership.membership).toEqual({ id, role: { key: "admin" }, groups: [] });
    // The member's own permissions follow at once: an admin reads invitations.
    const read = await app.gql(`query ($id: ID!) { organization(id: $id) { invitations { totalCount } } }`, { id: org.id }, member.token);
    expect(read.errors).toBeUndefined();
  });

  it("refuses input naming nothing to change, a malformed ID, and a role or group of another organization (BAD_USER_INPUT with field)", async () => {
    const { owner, org, member } = await team();
    const other = await createOrg(app, owner);
    const otherGroup = await createGroup(app, owner, other.id);
    const id = await membershipOf(member, org);
    expectError(await app.gql(UPDATE_MEMBERSHIP, { input: { membershipId: id } }, owner.token), { code: "BAD_USER_INPUT", field: "roleId" });
    expectError(await app.gql(UPDATE_MEMBERSHIP, { input: { membershipId: "nope", roleId: org.roles.admin } }, owner.token), {
      code: "BAD_USER_INPUT",
      field: "membershipId",
    });
    expectError(await app.gql(UPDATE_MEMBERSHIP, { input: { membershipId: id, roleId: other.roles.admin } }, owner.token), {
      code: "BAD_USER_INPUT",
      field: "roleId",
    });
    expectError(await app.gql(UPDATE_MEMBERSHIP, { input: { membershipId: id, groupIds: [otherGroup] } }, owner.token), {
      code: "BAD_USER_INPUT",
      field: "groupIds",
    });
  });

  it("needs members:manage: FORBIDDEN for a member without it, NOT_FOUND for an outsider, UNAUTHENTICATED without a token", async () => {
    const { owner, org, admin, member, outsider } = await team();
    const id = await membershipOf(member, org);
    const input = { membershipId: id, roleId: org.roles.member };
    expectError(await app.gql(UPDATE_MEMBERSHIP, { input }, admin.token), { code: "FORBIDDEN", reason: "MISSING_PERMISSION" });
    expectError(await app.gql(UPDATE_MEMBERSHIP, { input }, outsider.token), { code: "NOT_FOUND" });
    expectError(await app.gql(UPDATE_MEMBERSHIP, { input }, null), { code: "UNAUTHENTICATED" });
    expectError(await app.gql(UPDATE_MEMBERSHIP, { input: { membershipId: globalId("Membership", "01930000-0000-7000-8000-000000000000"), roleId: org.roles.member } }, owner.token), {
      code: "NOT_FOUND",
    });
  });

  it("refuses role escalation: granting a role with permissions one lacks, or changing a member whose role has them", async () => {
    const { owner, org, member } = await team();
    const { user: manager } = await withCustomRole(owner, org, MANAGER);
    const memberId = await membershipOf(member, org);
    const ownerId = await membershipOf(owner, org);
    // A manager may grant admin (every admin permission is theirs) ...
    await app.ok(UPDATE_MEMBERSHIP, { input: { membershipId: memberId, roleId: org.roles.admin } }, manager.token);
    // ... but not owner, and may not touch the owner.
    expectError(await app.gql(UPDATE_MEMBERSHIP, { input: { membershipId: memberId, roleId: org.roles.owner } }, manager.token), {
      code: "FORBIDDEN",
      reason: "ROLE_ESCALATION",
    });
    expectError(await app.gql(UPDATE_MEMBERSHIP, { input: { membershipId: ownerId, roleId: org.roles.member } }, manager.token), {
      code: "FORBIDDEN",
      reason: "ROLE_ESCALATION",
    });
    expectError(await app.gql(UPDATE_MEMBERSHIP, { input: { membershipId: ownerId, groupIds: [] } }, manager.token), {
      code: "FORBIDDEN",
      reason: "ROLE_ESCALATION",
    });
    expect(await roleKeyOf(owner, memberId)).toBe("admin");
    expect(await roleKeyOf(owner, ownerId)).toBe("owner");
  });

  it("keeps at least one owner: the last owner cannot step down (LAST_OWNER); with two, one may", async () => {
    const { owner, org, member } = await team();
    const ownerId = await membershipOf(owner, org);
    expectError(await app.gql(UPDATE_MEMBERSHIP, { input: { membershipId: ownerId, roleId: org.roles.admin } }, owner.token), {
      code: "CONFLICT",
      reason: "LAST_OWNER",
    });
    const memberId = await membershipOf(member, org);
    await app.ok(UPDATE_MEMBERSHIP, { input: { membershipId: memberId, roleId: org.roles.owner } }, owner.token);
    await app.ok(UPDATE_MEMBERSHIP, { input: { membershipId: ownerId, roleId: org.roles.admin } }, owner.token);
    expect(await roleKeyOf(member, ownerId)).toBe("admin");
    expectError(await app.gql(UPDATE_MEMBERSHIP, { input: { membershipId: memberId, roleId: org.roles.member } }, member.token), {
      code: "CONFLICT",
      reason: "LAST_OWNER",
    });
  });
});

describe("removeMember", () => {
  it("removes a member; invitations they sent stay pending and keep naming them as invitedBy", async () => {
    const { owner, org, admin } = await team();
    const email = uniqueEmail("sent-by-admin");
    const sent = await invite(app, admin, org.id, email);
    const adminUserId = (await app.ok(`{ viewer { id } }`, {}, admin.token)).viewer.id;
    const id = await membershipOf(admin, org);
    const removed = await app.ok(REMOVE_MEMBER, { input: { membershipId: id } }, owner.token);
    expect(removed.removeMember.removedMembershipId).toBe(id);
    const after = await app.ok(
      `query ($org: ID!, $inv: ID!) { organization(id: $org) { memberCount } invitation(id: $inv) { status invitedBy { id } } }`,
      { org: org.id, inv: sent.id },
      owner.token,
    );
    expect(after.organization.memberCount).toBe(2);
    expect(after.invitation).toEqual({ status: "PENDING", invitedBy: { id: adminUserId } });
    // The removed member no longer sees the organization.
    expectError(await app.gql(`query ($id: ID!) { organization(id: $id) { id } }`, { id: org.id }, admin.token), { code: "NOT_FOUND" });
    expectError(await app.gql(REMOVE_MEMBER, { input: { membershipId: id } }, owner.token), { code: "NOT_FOUND" });
  });

  it("needs members:manage and a role holding every permission of the member's; the last owner stays", async () => {
    const { owner, org, admin, member, outsider } = await team();
    const { user: manager } = await withCustomRole(owner, org, MANAGER);
    const memberId = await membershipOf(member, org);
    const ownerId = await membershipOf(owner, org);
    expectError(await app.gql(REMOVE_MEMBER, { input: { membershipId: memberId } }, admin.token), { code: "FORBIDDEN", reason: "MISSING_PERMISSION" });
    expectError(await app.gql(REMOVE_MEMBER, { input: { membershipId: memberId } }, outsider.token), { code: "NOT_FOUND" });
    expectError(await app.gql(REMOVE_MEMBER, { input: { membershipId: "bad" } }, owner.token), { code: "BAD_USER_INPUT", field: "membershipId" });
    expectError(await app.gql(REMOVE_MEMBER, { input: { membershipId: ownerId } }, manager.token), { code: "FORBIDDEN", reason: "ROLE_ESCALATION" });
    expectError(await app.gql(REMOVE_MEMBER, { input: { membershipId: ownerId } }, owner.token), { code: "CONFLICT", reason: "LAST_OWNER" });
    await app.ok(REMOVE_MEMBER, { input: { membershipId: memberId } }, manager.token);
  });
});

describe("leaveOrganization", () => {
  it("lets a member leave with no permission at all; the last owner cannot", async () => {
    const { owner, org, member } = await team();
    const id = await membershipOf(member, org);
    const left = await app.ok(LEAVE, { input: { organizationId: org.id } }, member.token);
    expect(left.leaveOrganization.removedMembershipId).toBe(id);
    expectError(await app.gql(LEAVE, { input: { organizationId: org.id } }, member.token), { code: "NOT_FOUND" });
    expectError(await app.gql(LEAVE, { input: { organizationId: org.id } }, owner.token), { code: "CONFLICT", reason: "LAST_OWNER" });
  });

  it("is NOT_FOUND for an outsider, FORBIDDEN for an invitee who is not a member yet, UNAUTHENTICATED without a token", async () => {
    const { owner, org, outsider } = await team();
    const invitee = await app.user({ name: "Invitee" });
    await invite(app, owner, org.id, invitee.email);
    expectError(await app.gql(LEAVE, { input: { organizationId: org.id } }, outsider.token), { code: "NOT_FOUND" });
    expectError(await app.gql(LEAVE, { input: { organizationId: org.id } }, invitee.token), { code: "FORBIDDEN", reason: "MISSING_PERMISSION" });
    expectError(await app.gql(LEAVE, { input: { organizationId: org.id } }, null), { code: "UNAUTHENTICATED" });
    expectError(await app.gql(LEAVE, { input: { organizationId: "x" } }, owner.token), { code: "BAD_USER_INPUT", field: "organizationId" });
  });
});

describe("createRole", () => {
  it("creates a custom role, its key derived from the name, its permissions in catalogue order", async () => {
    const { owner, org } = await team();
    const created = await app.ok(
      CREATE_ROLE,
      { input: { organizationId: org.id, name: "Billing Admin", permissions: ["invitations:read", "members:read", "members:read"] } },
      owner.token,
    );
    expect(created.createRole.role).toMatchObject({ key: "billing_admin", name: "Billing Admin", permissions: ["members:read", "invitations:read"] });
    const explicit = await app.ok(CREATE_ROLE, { input: { organizationId: org.id, key: "auditor", name: "Auditor", permissions: [] } }, owner.token);
    expect(explicit.createRole.role).toMatchObject({ key: "auditor", permissions: [] });
    const again = await app.ok(CREATE_ROLE, { input: { organizationId: org.id, name: "Billing Admin", permissions: [] } }, owner.token);
    expect(again.createRole.role.key).toMatch(/^billing_admin_[0-9a-f]{4}$/);
    const other = await app.ok(CREATE_ROLE, { input: { organizationId: org.id, name: "営業", permissions: [] } }, owner.token);
    expect(other.createRole.role.key).toBe("role");
    const roles = await app.ok(`query ($id: ID!) { organization(id: $id) { roles { key } } }`, { id: org.id }, owner.token);
    expect(roles.organization.roles.map((r: any) => r.key)).toEqual(["owner", "admin", "member", "billing_admin", "auditor", again.createRole.role.key, "role"]);
  });

  it("refuses unknown permissions, a bad key or name (BAD_USER_INPUT with field), and a key the organization has (ROLE_KEY_TAKEN)", async () => {
    const { owner, org } = await team();
    const base = { organizationId: org.id, name: "Role", permissions: [] as string[] };
    expectError(await app.gql(CREATE_ROLE, { input: { ...base, permissions: ["members:read", "everything"] } }, owner.token), {
      code: "BAD_USER_INPUT",
      field: "permissions",
    });
    expectError(await app.gql(CREATE_ROLE, { input: { ...base, key: "Not A Key" } }, owner.token), { code: "BAD_USER_INPUT", field: "key" });
    expectError(await app.gql(CREATE_ROLE, { input: { ...base, name: "  " } }, owner.token), { code: "BAD_USER_INPUT", field: "name" });
    expectError(await app.gql(CREATE_ROLE, { input: { ...base, key: "admin" } }, owner.token), { code: "CONFLICT", reason: "ROLE_KEY_TAKEN" });
  });

  it("needs roles:manage, and every permission the role grants (ROLE_ESCALATION)", async () => {
    const { owner, org, admin, outsider } = await team();
    const { user: roleManager } = await withCustomRole(owner, org, ["members:read", "roles:manage"], "Role Manager");
    const input = { organizationId: org.id, name: "Reader", permissions: ["members:read"] };
    expectError(await app.gql(CREATE_ROLE, { input }, admin.token), { code: "FORBIDDEN", reason: "MISSING_PERMISSION" });
    expectError(await app.gql(CREATE_ROLE, { input }, outsider.token), { code: "NOT_FOUND" });
    expectError(await app.gql(CREATE_ROLE, { input }, null), { code: "UNAUTHENTICATED" });
    expectError(await app.gql(CREATE_ROLE, { input: { ...input, permissions: ["invitations:read"] } }, roleManager.token), {
      code: "FORBIDDEN",
      reason: "ROLE_ESCALATION",
    });
    await app.ok(CREATE_ROLE, { input }, roleManager.token);
  });
});

describe("updateRole", () => {
  it("renames a role and replaces its permissions; every member holding it is affected at once", async () => {
    const { owner, org, member } = await team();
    const read = () => app.gql(`query ($id: ID!) { organization(id: $id) { invitations { totalCount } } }`, { id: org.id }, member.token);
    expectError(await read(), { code: "FORBIDDEN", reason: "MISSING_PERMISSION" });
    const updated = await app.ok(
      UPDATE_ROLE,
      { input: { roleId: org.roles.member, name: "Colleague", permissions: ["invitations:read", "members:read"] } },
      owner.token,
    );
    expect(updated.updateRole.role).toMatchObject({ key: "member", name: "Colleague", permissions: ["members:read", "invitations:read"] });
    expect((await read()).errors).toBeUndefined();
  });

  it("keeps every permission on the owner role (its name may change), and refuses unknown permissions", async () => {
    const { owner, org } = await team();
    const renamed = await app.ok(UPDATE_ROLE, { input: { roleId: org.roles.owner, name: "Proprietor" } }, owner.token);
    expect(renamed.updateRole.role).toMatchObject({ key: "owner", name: "Proprietor" });
    expect(renamed.updateRole.role.permissions).toHaveLength(7);
    expectError(await app.gql(UPDATE_ROLE, { input: { roleId: org.roles.owner, permissions: ["members:read"] } }, owner.token), {
      code: "BAD_USER_INPUT",
      field: "permissions",
    });
    expectError(await app.gql(UPDATE_ROLE, { input: { roleId: org.roles.admin, permissions: ["root"] } }, owner.token), {
      code: "BAD_USER_INPUT",
      field: "permissions",
    });
    expectError(await app.gql(UPDATE_ROLE, { input: { roleId: "zzz" } }, owner.token), { code: "BAD_USER_INPUT", field: "roleId" });
  });

  it("needs roles:manage, and every permission the role holds before and after (ROLE_ESCALATION)", async () => {
    const { owner, org, admin, outsider } = await team();
    const { user: roleManager } = await withCustomRole(owner, org, ["members:read", "roles:manage"], "Role Manager");
    const own = (await app.ok(CREATE_ROLE, { input: { organizationId: org.id, name: "Plain", permissions: ["members:read"] } }, roleManager.token)).createRole.role;
    expectError(await app.gql(UPDATE_ROLE, { input: { roleId: org.roles.member, name: "x" } }, admin.token), { code: "FORBIDDEN", reason: "MISSING_PERMISSION" });
    expectError(await app.gql(UPDATE_ROLE, { input: { roleId: org.roles.member, name: "x" } }, outsider.token), { code: "NOT_FOUND" });
    // Editing a role above oneself (admin holds invitation permissions the role manager lacks) ...
    expectError(await app.gql(UPDATE_ROLE, { input: { roleId: org.roles.admin, name: "Lesser" } }, roleManager.token), {
      code: "FORBIDDEN",
      reason: "ROLE_ESCALATION",
    });
    // ... or raising a role past oneself.
    expectError(await app.gql(UPDATE_ROLE, { input: { roleId: own.id, permissions: ["members:read", "members:manage"] } }, roleManager.token), {
      code: "FORBIDDEN",
      reason: "ROLE_ESCALATION",
    });
    await app.ok(UPDATE_ROLE, { input: { roleId: own.id, permissions: [] } }, roleManager.token);
  });
});

describe("deleteRole", () => {
  it("deletes an unused custom role; built-in roles cannot be deleted (BUILT_IN_ROLE)", async () => {
    const { owner, org } = await team();
    const role = (await app.ok(CREATE_ROLE, { input: { organizationId: org.id, name: "Temp", permissions: [] } }, owner.token)).createRole.role;
    const deleted = await app.ok(DELETE_ROLE, { input: { roleId: role.id } }, owner.token);
    expect(deleted.deleteRole.deletedRoleId).toBe(role.id);
    const roles = await app.ok(`query ($id: ID!) { organization(id: $id) { roles { key } } }`, { id: org.id }, owner.token);
    expect(roles.organization.roles.map((r: any) => r.key)).toEqual(["owner", "admin", "member"]);
    expectError(await app.gql(DELETE_ROLE, { input: { roleId: role.id } }, owner.token), { code: "NOT_FOUND" });
    for (const key of ["owner", "admin", "member"] as const) {
      expectError(await app.gql(DELETE_ROLE, { input: { roleId: org.roles[key] } }, owner.token), { code: "CONFLICT", reason: "BUILT_IN_ROLE" });
    }
  });

  it("refuses a role held by a member, named by a pending invitation, or by a past one (ROLE_IN_USE)", async () => {
    const { owner, org } = await team();
    const { role: held } = await withCustomRole(owner, org, ["members:read"], "Held");
    expectError(await app.gql(DELETE_ROLE, { input: { roleId: held.id } }, owner.token), { code: "CONFLICT", reason: "ROLE_IN_USE" });
    const pending = (await app.ok(CREATE_ROLE, { input: { organizationId: org.id, name: "Pending", permissions: [] } }, owner.token)).createRole.role;
    const invitation = await invite(app, owner, org.id, uniqueEmail(), { roleId: pending.id });
    expectError(await app.gql(DELETE_ROLE, { input: { roleId: pending.id } }, owner.token), { code: "CONFLICT", reason: "ROLE_IN_USE" });
    await revoke(app, owner, invitation.id);
    expectError(await app.gql(DELETE_ROLE, { input: { roleId: pending.id } }, owner.token), { code: "CONFLICT", reason: "ROLE_IN_USE" });
  });

  it("needs roles:manage and a role holding every permission of the deleted one", async () => {
    const { owner, org, admin, outsider } = await team();
    const { user: roleManager } = await withCustomRole(owner, org, ["members:read", "roles:manage"], "Role Manager");
    const high = (await app.ok(CREATE_ROLE, { input: { organizationId: org.id, name: "High", permissions: ["invitations:read"] } }, owner.token)).createRole.role;
    expectError(await app.gql(DELETE_ROLE, { input: { roleId: high.id } }, admin.token), { code: "FORBIDDEN", reason: "MISSING_PERMISSION" });
    expectError(await app.gql(DELETE_ROLE, { input: { roleId: high.id } }, outsider.token), { code: "NOT_FOUND" });
    expectError(await app.gql(DELETE_ROLE, { input: { roleId: high.id } }, roleManager.token), { code: "FORBIDDEN", reason: "ROLE_ESCALATION" });
    await app.ok(DELETE_ROLE, { input: { roleId: high.id } }, owner.token);
  });
});

describe("updateGroup and deleteGroup", () => {
  it("renames a group; a name the organization has is GROUP_NAME_TAKEN; an empty one BAD_USER_INPUT", async () => {
    const { owner, org } = await team();
    const a = await createGroup(app, owner, org.id, "Alpha");
    await createGroup(app, owner, org.id, "Beta");
    const renamed = await app.ok(UPDATE_GROUP, { input: { groupId: a, name: " Gamma " } }, owner.token);
    expect(renamed.updateGroup.group).toEqual({ id: a, name: "Gamma" });
    expectError(await app.gql(UPDATE_GROUP, { input: { groupId: a, name: "Beta" } }, owner.token), { code: "CONFLICT", reason: "GROUP_NAME_TAKEN" });
    expectError(await app.gql(UPDATE_GROUP, { input: { groupId: a, name: "" } }, owner.token), { code: "BAD_USER_INPUT", field: "name" });
    expectError(await app.gql(UPDATE_GROUP, { input: { groupId: "no", name: "x" } }, owner.token), { code: "BAD_USER_INPUT", field: "groupId" });
  });

  it("deleting a group removes it from memberships and invitations, which otherwise stay", async () => {
    const { owner, org } = await team();
    const doomed = await createGroup(app, owner, org.id, "Doomed");
    const kept = await createGroup(app, owner, org.id, "Kept");
    const joined = await addMember(app, org, owner, "member", { groupIds: [doomed, kept] });
    const pending = await invite(app, owner, org.id, uniqueEmail(), { groupIds: [doomed, kept] });
    const deleted = await app.ok(DELETE_GROUP, { input: { groupId: doomed } }, owner.token);
    expect(deleted.deleteGroup.deletedGroupId).toBe(doomed);
    const membershipId = await membershipOf(joined, org);
    const after = await app.ok(
      `query ($m: ID!, $i: ID!, $o: ID!) {
        m: node(id: $m) { ... on Membership { groups { name } } }
        i: invitation(id: $i) { status groups { name } }
        o: organization(id: $o) { groups { name } }
      }`,
      { m: membershipId, i: pending.id, o: org.id },
      owner.token,
    );
    expect(after).toEqual({ m: { groups: [{ name: "Kept" }] }, i: { status: "PENDING", groups: [{ name: "Kept" }] }, o: { groups: [{ name: "Kept" }] } });
    expectError(await app.gql(DELETE_GROUP, { input: { groupId: doomed } }, owner.token), { code: "NOT_FOUND" });
  });

  it("needs members:manage: FORBIDDEN for a member without it, NOT_FOUND for an outsider", async () => {
    const { owner, org, admin, outsider } = await team();
    const group = await createGroup(app, owner, org.id);
    for (const [mutation, input] of [
      [UPDATE_GROUP, { groupId: group, name: "Renamed" }],
      [DELETE_GROUP, { groupId: group }],
    ] as const) {
      expectError(await app.gql(mutation, { input }, admin.token), { code: "FORBIDDEN", reason: "MISSING_PERMISSION" });
      expectError(await app.gql(mutation, { input }, outsider.token), { code: "NOT_FOUND" });
      expectError(await app.gql(mutation, { input }, null), { code: "UNAUTHENTICATED" });
    }
  });
});

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startApp, uniqueEmail, type TestApp } from "./helpers/app.js";
import { CREATE_ORGANIZATION, createGroup, createOrg, expectError, globalId, invite, rawId, tryInvite, uniqueName } from "./helpers/fixtures.js";

let app: TestApp;
beforeAll(async () => {
  app = await startApp();
});
afterAll(() => app?.close());

/** Strings that are not global IDs this server issued. */
const MALFORMED_IDS = [
  "",
  "garbage",
  "!!!",
  "a".repeat(5000),
  Buffer.from("Organization:not-a-uuid").toString("base64url"),
  Buffer.from("Organization:").toString("base64url"),
  Buffer.from(":00000000-0000-7000-8000-000000000000").toString("base64url"),
  Buffer.from("00000000-0000-7000-8000-000000000000").toString("base64url"),
  "00000000-0000-7000-8000-000000000000",
];

/** BAD_USER_INPUT naming `field`, or NOT_FOUND; never an internal error. */
function expectRejectedId(result: Awaited<ReturnType<TestApp["gql"]>>, field: string, label: string) {
  const extensions = result.errors?.[0]?.extensions;
  expect(extensions?.code, `${label}: ${JSON.stringify(result.errors)}`).toMatch(/^(BAD_USER_INPUT|NOT_FOUND)$/);
  if (extensions?.code === "BAD_USER_INPUT") expect(extensions.field, label).toBe(field);
}

describe("malformed global IDs", () => {
  it("are BAD_USER_INPUT naming the argument (or NOT_FOUND) in every query, never INTERNAL_SERVER_ERROR", async () => {
    const user = await app.user();
    const queries = [
      `query ($id: ID!) { organization(id: $id) { id } }`,
      `query ($id: ID!) { invitation(id: $id) { id } }`,
      `query ($id: ID!) { user(id: $id) { id } }`,
      `query ($id: ID!) { node(id: $id) { id } }`,
    ];
    for (const query of queries) {
      for (const id of MALFORMED_IDS) {
        expectRejectedId(await app.gql(query, { id }, user.token), "id", `${query} ${id.slice(0, 40)}`);
      }
    }
    // The plainly malformed ones are BAD_USER_INPUT, with the field.
    expectError(await app.gql(queries[0]!, { id: "garbage" }, user.token), { code: "BAD_USER_INPUT", field: "id" });
    expectError(await app.gql(queries[3]!, { id: "garbage" }, user.token), { code: "BAD_USER_INPUT", field: "id" });
  });

  it("are BAD_USER_INPUT naming the input field in every mutation, and nothing is written", async () => {
    const owner = await app.user();
    const org = await createOrg(app, owner);
    const invitations = () => app.db.prisma.invitation.count({ where: { organizationId: rawId(org.id) } });
    const cases: Array<[string, Record<string, unknown>, string]> = [
      [`mutation ($input: CreateInvitationInput!) { createInvitation(input: $input) { token } }`, { organizationId: "BAD", email: uniqueEmail() }, "organizationId"],
      [`mutation ($input: CreateInvitationInput!) { createInvitation(input: $input) { token } }`, { organizationId: org.id, email: uniqueEmail(), roleId: "BAD" }, "roleId"],
      [`mutation ($input: CreateInvitationInput!) { createInvitation(input: $input) { token } }`, { organizationId: org.id, email: uniqueEmail(), groupIds: ["BAD"] }, "groupIds"],
      [`mutation ($input: CreateGroupInput!) { createGroup(input: $input) { group { id } } }`, { organizationId: "BAD", name: "G" }, "organizationId"],
      [`mutation ($input: AcceptInvitationInput!) { acceptInvitation(input: $input) { invitation { id } } }`, { invitationId: "BAD" }, "invitationId"],
      [`mutation ($input: DeclineInvitationInput!) { declineInvitation(input: $input) { invitation { id } } }`, { invitationId: "BAD" }, "invitationId"],
      [`mutation ($input: RevokeInvitationInput!) { revokeInvitation(input: $input) { invitation { id } } }`, { invitationId: "BAD" }, "invitationId"],
      [`mutation ($input: ResendInvitationInput!) { resendInvitation(input: $input) { token } }`, { invitationId: "BAD" }, "invitationId"],
      [`mutation ($input: DeleteInvitationInput!) { deleteInvitation(input: $input) { deletedInvitationId } }`, { invitationId: "BAD" }, "invitationId"],
    ];
    for (const [mutation, input, field] of cases) {
      expectError(await app.gql(mutation, { input }, owner.token), { code: "BAD_USER_INPUT", field });
      for (const id of MALFORMED_IDS) {
        const withId = Object.fromEntries(Object.entries(input).map(([k, v]) => [k, k === field ? (Array.isArray(v) ? [id] : id) : v]));
        expectRejectedId(await app.gql(mutation, { input: withId }, owner.token), field, `${field} ${id.slice(0, 40)}`);
      }
    }
    expect(await invitations()).toBe(0);
    expect(await app.db.prisma.group.count({ where: { organizationId: rawId(org.id) } })).toBe(0);
  });

  it("an ID of the wrong type is BAD_USER_INPUT (or NOT_FOUND), never an internal error", async () => {
    const owner = await app.user();
    const org = await createOrg(app, owner);
    const group = await createGroup(app, owner, org.id);
    const invitation = await invite(app, owner, org.id, uniqueEmail());
    expectRejectedId(await app.gql(`query ($id: ID!) { organization(id: $id) { id } }`, { id: invitation.id }, owner.token), "id", "org<-invitation");
    expectRejectedId(await app.gql(`query ($id: ID!) { invitation(id: $id) { id } }`, { id: org.id }, owner.token), "id", "invitation<-org");
    expectRejectedId(await app.gql(`query ($id: ID!) { user(id: $id) { id } }`, { id: group }, owner.token), "id", "user<-group");
    expectRejectedId(await tryInvite(app, owner, group, uniqueEmail()), "organizationId", "invite<-group");
    expectRejectedId(await tryInvite(app, owner, org.id, uniqueEmail(), { groupIds: [org.roles.admin] }), "groupIds", "groupIds<-role");
    expectRejectedId(
      await app.gql(`mutation ($input: RevokeInvitationInput!) { revokeInvitation(input: $input) { invitation { id } } }`, { input: { invitationId: org.id } }, owner.token),
      "invitationId",
      "revoke<-org",
    );
  });

  it("an ID naming no row is NOT_FOUND", async () => {
    const user = await app.user();
    const missing = (type: string) => globalId(type, "00000000-0000-7000-8000-000000000000");
    expectError(await app.gql(`query ($id: ID!) { invitation(id: $id) { id } }`, { id: missing("Invitation") }, user.token), { code: "NOT_FOUND" });
    expectError(await app.gql(`query ($id: ID!) { node(id: $id) { id } }`, { id: missing("Membership") }, user.token), { code: "NOT_FOUND" });
    expectError(await app.gql(`query ($id: ID!) { node(id: $id) { id } }`, { id: missing("Role") }, user.token), { code: "NOT_FOUND" });
    expectError(await app.gql(`query ($id: ID!) { node(id: $id) { id } }`, { id: missing("Group") }, user.token), { code: "NOT_FOUND" });
    expectError(
      await app.gql(`mutation ($input: AcceptInvitationInput!) { acceptInvitation(input: $input) { invitation { id } } }`, { input: { invitationId: missing("Invitation") } }, user.token),
      { code: "NOT_FOUND" },
    );
  });
});

describe("lengths", () => {
  /** A valid address of exactly `length` characters (local part 64, labels at most 63). */
  function emailOfLength(length: number): string {
    const local = "l".repeat(64);
    let domain = "";
    let remaining = length - local.length - 1 - ".test".length;
    while (remaining > 0) {
      const label = Math.min(63, remaining);
      domain += `${domain ? "." : ""}${"d".repeat(label - (domain ? 1 : 0))}`;
      remaining -= label;
    }
    const email = `${local}@${domain}.test`;
    expect(email).toHaveLength(length);
    return email;
  }

  it("emails may be 254 characters, not 255 (BAD_USER_INPUT on email)", async () => {
    const owner = await app.user();
    const org = await createOrg(app, owner);
    const ok = await tryInvite(app, owner, org.id, emailOfLength(254));
    expect(ok.errors).toBeUndefined();
    expectError(await tryInvite(app, owner, org.id, emailOfLength(255)), { code: "BAD_USER_INPUT", field: "email" });
    expectError(await tryInvite(app, owner, org.id, `${"x".repeat(300)}@example.test`), { code: "BAD_USER_INPUT", field: "email" });
    expect(await app.db.prisma.invitation.count({ where: { organizationId: rawId(org.id) } })).toBe(1);
  });

  it("organization names may be 100 characters, not 101, and not blank (BAD_USER_INPUT on name); nothing is created", async () => {
    const owner = await app.user();
    const base = uniqueName("N").replace(/\s/g, "");
    const ok = await app.gql(CREATE_ORGANIZATION, { input: { name: base.padEnd(100, "n") } }, owner.token);
    expect(ok.errors).toBeUndefined();
    expect(ok.data!.createOrganization.organization.name).toHaveLength(100);
    const tooLong = base.padEnd(101, "m");
    expectError(await app.gql(CREATE_ORGANIZATION, { input: { name: tooLong } }, owner.token), { code: "BAD_USER_INPUT", field: "name" });
    expectError(await app.gql(CREATE_ORGANIZATION, { input: { name: "   " } }, owner.token), { code: "BAD_USER_INPUT", field: "name" });
    expect(await app.db.prisma.organization.count({ where: { name: tooLong } })).toBe(0);
    const memberships = await app.ok(`{ viewer { memberships { totalCount } } }`, {}, owner.token);
    expect(memberships.viewer.memberships.totalCount).toBe(1);
  });

  it("group names may be 100 characters, not 101 (BAD_USER_INPUT on name)", async () => {
    const owner = await app.user();
    const org = await createOrg(app, owner);
    const CREATE_GROUP = `mutation ($input: CreateGroupInput!) { createGroup(input: $input) { group { name } } }`;
    expect((await app.gql(CREATE_GROUP, { input: { organizationId: org.id, name: "g".repeat(100) } }, owner.token)).errors).toBeUndefined();
    expectError(await app.gql(CREATE_GROUP, { input: { organizationId: org.id, name: "g".repeat(101) } }, owner.token), { code: "BAD_USER_INPUT", field: "name" });
    expectError(await app.gql(CREATE_GROUP, { input: { organizationId: org.id, name: "" } }, owner.token), { code: "BAD_USER_INPUT", field: "name" });
    expect(await app.db.prisma.group.count({ where: { organizationId: rawId(org.id) } })).toBe(1);
  });
});

describe("bad input anywhere in a mutation's selection", () => {
  it("refuses the mutation before it writes (a bad nested cursor)", async () => {
    const owner = await app.user();
    const name = uniqueName("Nested");
    const result = await app.gql(
      `mutation ($input: CreateOrganizationInput!) { createOrganization(input: $input) { organization { id members(after: "nope") { totalCount } } } }`,
      { input: { name } },
      owner.token,
    );
    expectError(result, { code: "BAD_USER_INPUT", field: "after" });
    expect(await app.db.prisma.organization.count({ where: { name } })).toBe(0);
  });

  it("refuses the mutation before it writes (first over 100 in the payload selection)", async () => {
    const owner = await app.user();
    const name = uniqueName("Nested");
    const result = await app.gql(
      `mutation ($input: CreateOrganizationInput!, $n: Int) { createOrganization(input: $input) { organization { members(first: $n) { totalCount } } } }`,
      { input: { name }, n: 500 },
      owner.token,
    );
    expectError(result, { code: "BAD_USER_INPUT", field: "first" });
    expect(await app.db.prisma.organization.count({ where: { name } })).toBe(0);
  });
});

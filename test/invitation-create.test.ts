import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startApp, uniqueEmail, type TestApp } from "./helpers/app.js";
import {
  accept,
  addMember,
  createGroup,
  createOrg,
  expectError,
  expire,
  invite,
  rawId,
  statusOf,
  storedInvitation,
  tryInvite,
  type TestOrg,
} from "./helpers/fixtures.js";

let app: TestApp;
beforeAll(async () => {
  app = await startApp();
});
afterAll(() => app?.close());

const DAY = 24 * 3600_000;

async function invitationCount(org: TestOrg): Promise<number> {
  return app.db.prisma.invitation.count({ where: { organizationId: rawId(org.id) } });
}

describe("createInvitation defaults", () => {
  it("invites as the member role, with no groups, expiring in 7 days, pending, invited by the viewer", async () => {
    const owner = await app.user();
    const org = await createOrg(app, owner);
    const before = Date.now();
    const result = await tryInvite(app, owner, org.id, uniqueEmail("new"));
    const after = Date.now();
    expect(result.errors).toBeUndefined();
    const { invitation } = result.data!.createInvitation;
    expect(invitation.status).toBe("PENDING");
    expect(invitation.role).toEqual({ id: org.roles.member, key: "member" });
    expect(invitation.groups).toEqual([]);
    expect(invitation.metadata).toBeNull();
    expect(invitation.organization.id).toBe(org.id);
    const viewer = await app.ok(`{ viewer { id } }`, {}, owner.token);
    expect(invitation.invitedBy.id).toBe(viewer.viewer.id);
    const expiresAt = new Date(invitation.expiresAt).getTime();
    expect(expiresAt).toBeGreaterThanOrEqual(before + 7 * DAY - 1000);
    expect(expiresAt).toBeLessThanOrEqual(after + 7 * DAY + 1000);
  });

  it("returns a token of at least 128 random bits and stores only its hash", async () => {
    const owner = await app.user();
    const org = await createOrg(app, owner);
    const a = await invite(app, owner, org.id, uniqueEmail("a"));
    const b = await invite(app, owner, org.id, uniqueEmail("b"));
    expect(a.token).not.toBe(b.token);
    // 128 bits need at least 22 base64url characters (or 32 hex ones); the token is opaque, so only its length is checked.
    expect(a.token.length).toBeGreaterThanOrEqual(22);
    for (const { id, token } of [a, b]) {
      const row = await storedInvitation(app, id);
      const stored = JSON.stringify(row);
      expect(stored).not.toContain(token);
      expect(row.tokenHash).not.toBe(token);
      expect(row.tokenHash.length).toBeGreaterThan(0);
    }
  });

  it("does not expose the token anywhere but the create payload", async () => {
    const owner = await app.user();
    const org = await createOrg(app, owner);
    const invitation = await invite(app, owner, org.id, uniqueEmail());
    const result = await app.gql(`query ($id: ID!) { invitation(id: $id) { token } }`, { id: invitation.id }, owner.token);
    expectError(result, { code: "GRAPHQL_VALIDATION_FAILED" });
  });

  it("trims and lower-cases the email, so the invitee's token email matches it", async () => {
    const owner = await app.user();
    const org = await createOrg(app, owner);
    const address = uniqueEmail("MixedCase");
    const invitation = await invite(app, owner, org.id, `  ${address.toUpperCase()}  `);
    expect(invitation.email).toBe(address.toLowerCase());
    expect((await storedInvitation(app, invitation.id)).email).toBe(address.toLowerCase());
    const invitee = await app.user({ email: address.replace("mixedcase", "MixedCase") });
    const result = await accept(app, invitee, { invitationId: invitation.id });
    expect(result.errors).toBeUndefined();
  });

  it("accepts a given role and groups of the organization, and metadata", async () => {
    const owner = await app.user();
    const org = await createOrg(app, owner);
    const g1 = await createGroup(app, owner, org.id, "Alpha");
    const g2 = await createGroup(app, owner, org.id, "Beta");
    const result = await tryInvite(app, owner, org.id, uniqueEmail(), {
      roleId: org.roles.admin,
      groupIds: [g2, g1],
      metadata: { source: "onboarding", seats: 3, nested: { ok: true } },
    });
    expect(result.errors).toBeUndefined();
    const { invitation } = result.data!.createInvitation;
    expect(invitation.role.key).toBe("admin");
    expect(invitation.groups.map((g: { id: string }) => g.id).sort()).toEqual([g1, g2].sort());
    expect(invitation.metadata).toEqual({ source: "onboarding", seats: 3, nested: { ok: true } });
  });

  it("accepts an explicit expiresAt in the future, up to 30 days ahead", async () => {
    const owner = await app.user();
    const org = await createOrg(app, owner);
    const expiresAt = new Date(Date.now() + 29 * DAY).toISOString();
    const result = await tryInvite(app, owner, org.id, uniqueEmail(), { expiresAt });
    expect(result.errors).toBeUndefined();
    expect(result.data!.createInvitation.invitation.expiresAt).toBe(expiresAt);
  });
});

describe("createInvitation conflicts", () => {
  it("refuses a second pending invitation for the same email with CONFLICT/ALREADY_INVITED", async () => {
    const owner = await app.user();
    const org = await createOrg(app, owner);
    const email = uniqueEmail();
    await invite(app, owner, org.id, email);
    expectError(await tryInvite(app, owner, org.id, email.toUpperCase()), { code: "CONFLICT", reason: "ALREADY_INVITED" });
    expect(await invitationCount(org)).toBe(1);
  });

  it("enforces one pending invitation per (organization, email) in the database itself", async () => {
    const owner = await app.user();
    const org = await createOrg(app, owner);
    const email = uniqueEmail();
    const first = await invite(app, owner, org.id, email);
    const row = await storedInvitation(app, first.id);
    await expect(
      app.db.prisma.invitation.create({
        data: { organizationId: row.organizationId, email, roleId: row.roleId, tokenHash: `x${row.tokenHash}`, expiresAt: row.expiresAt },
      }),
    ).rejects.toThrow();
    expect(await invitationCount(org)).toBe(1);
  });

  it("concurrent invitations of one email: exactly one succeeds, the others are CONFLICT/ALREADY_INVITED", async () => {
    const owner = await app.user();
    const org = await createOrg(app, owner);
    const email = uniqueEmail("race");
    const results = await Promise.all(Array.from({ length: 5 }, () => tryInvite(app, owner, org.id, email)));
    expect(results.filter((r) => !r.errors)).toHaveLength(1);
    for (const failed of results.filter((r) => r.errors)) expectError(failed, { code: "CONFLICT", reason: "ALREADY_INVITED" });
    expect(await invitationCount(org)).toBe(1);
  });

  it("lets the same email be invited to two organizations", async () => {
    const owner = await app.user();
    const a = await createOrg(app, owner);
    const b = await createOrg(app, owner);
    const email = uniqueEmail();
    await invite(app, owner, a.id, email);
    await expect(invite(app, owner, b.id, email)).resolves.toBeTruthy();
  });

  it("does not let an expired invitation block a new one, and the old one stays EXPIRED", async () => {
    const owner = await app.user();
    const org = await createOrg(app, owner);
    const email = uniqueEmail();
    const old = await invite(app, owner, org.id, email);
    await expire(app, old.id);
    const fresh = await invite(app, owner, org.id, email);
    expect(fresh.id).not.toBe(old.id);
    expect(await statusOf(app, owner, old.id)).toBe("EXPIRED");
    expect(await statusOf(app, owner, fresh.id)).toBe("PENDING");
  });

  it("lets an email be invited again after its invitation was declined or revoked", async () => {
    const owner = await app.user();
    const org = await createOrg(app, owner);
    const invitee = await app.user();
    const first = await invite(app, owner, org.id, invitee.email);
    await app.ok(
      `mutation ($input: DeclineInvitationInput!) { declineInvitation(input: $input) { invitation { id } } }`,
      { input: { invitationId: first.id } },
      invitee.token,
    );
    const second = await invite(app, owner, org.id, invitee.email);
    await app.ok(`mutation ($input: RevokeInvitationInput!) { revokeInvitation(input: $input) { invitation { id } } }`, { input: { invitationId: second.id } }, owner.token);
    await expect(invite(app, owner, org.id, invitee.email)).resolves.toBeTruthy();
  });

  it("refuses to invite an existing member with CONFLICT/ALREADY_MEMBER", async () => {
    const owner = await app.user();
    const org = await createOrg(app, owner);
    const member = await addMember(app, org, owner);
    expectError(await tryInvite(app, owner, org.id, member.email), { code: "CONFLICT", reason: "ALREADY_MEMBER" });
    expectError(await tryInvite(app, owner, org.id, owner.email), { code: "CONFLICT", reason: "ALREADY_MEMBER" });
  });
});

describe("createInvitation permissions", () => {
  it("lets an admin invite as admin or member", async () => {
    const owner = await app.user();
    const org = await createOrg(app, owner);
    const admin = await addMember(app, org, owner, "admin");
    await expect(invite(app, admin, org.id, uniqueEmail(), { roleId: org.roles.admin })).resolves.toBeTruthy();
    await expect(invite(app, admin, org.id, uniqueEmail())).resolves.toBeTruthy();
  });

  it("refuses an admin inviting an owner with FORBIDDEN/ROLE_ESCALATION and writes nothing", async () => {
    const owner = await app.user();
    const org = await createOrg(app, owner);
    const admin = await addMember(app, org, owner, "admin");
    const before = await invitationCount(org);
    expectError(await tryInvite(app, admin, org.id, uniqueEmail(), { roleId: org.roles.owner }), { code: "FORBIDDEN", reason: "ROLE_ESCALATION" });
    expect(await invitationCount(org)).toBe(before);
  });

  it("checks the default member role for escalation too: a role without members:read cannot invite without a roleId", async () => {
    const owner = await app.user();
    const org = await createOrg(app, owner);
    const created = await app.ok(
      `mutation ($input: CreateRoleInput!) { createRole(input: $input) { role { id } } }`,
      { input: { organizationId: org.id, name: "Recruiter", permissions: ["invitations:create"] } },
      owner.token,
    );
    const recruiter = await app.user({ name: "Recruiter" });
    const invitation = await invite(app, owner, org.id, recruiter.email, { roleId: created.createRole.role.id });
    expect((await accept(app, recruiter, { invitationId: invitation.id })).errors).toBeUndefined();
    const before = await invitationCount(org);
    // The member role (the default) holds members:read, which the recruiter lacks.
    expectError(await tryInvite(app, recruiter, org.id, uniqueEmail()), { code: "FORBIDDEN", reason: "ROLE_ESCALATION" });
    expect(await invitationCount(org)).toBe(before);
  });

  it("lets an owner invite an owner", async () => {
    const owner = await app.user();
    const org = await createOrg(app, owner);
    const invitation = await invite(app, owner, org.id, uniqueEmail(), { roleId: org.roles.owner });
    expect(invitation.id).toBeTruthy();
  });

  it("refuses a plain member with FORBIDDEN/MISSING_PERMISSION", async () => {
    const owner = await app.user();
    const org = await createOrg(app, owner);
    const member = await addMember(app, org, owner, "member");
    expectError(await tryInvite(app, member, org.id, uniqueEmail()), { code: "FORBIDDEN", reason: "MISSING_PERMISSION" });
  });

  it("refuses an invitee (who may see the organization) with FORBIDDEN/MISSING_PERMISSION", async () => {
    const owner = await app.user();
    const org = await createOrg(app, owner);
    const invitee = await app.user();
    await invite(app, owner, org.id, invitee.email);
    expectError(await tryInvite(app, invitee, org.id, uniqueEmail()), { code: "FORBIDDEN", reason: "MISSING_PERMISSION" });
  });

  it("answers NOT_FOUND to an outsider, as for an organization that does not exist", async () => {
    const owner = await app.user();
    const org = await createOrg(app, owner);
    const outsider = await app.user();
    expectError(await tryInvite(app, outsider, org.id, uniqueEmail()), { code: "NOT_FOUND" });
    const missing = Buffer.from("Organization:00000000-0000-7000-8000-000000000000").toString("base64url");
    expectError(await tryInvite(app, outsider, missing, uniqueEmail()), { code: "NOT_FOUND" });
    expect(await invitationCount(org)).toBe(0);
  });

  it("needs a token: UNAUTHENTICATED without one", async () => {
    const owner = await app.user();
    const org = await createOrg(app, owner);
    const result = await app.gql(
      `mutation ($input: CreateInvitationInput!) { createInvitation(input: $input) { token } }`,
      { input: { organizationId: org.id, email: uniqueEmail() } },
      null,
    );
    expectError(result, { code: "UNAUTHENTICATED" });
  });
});

describe("createInvitation input", () => {
  it("refuses a role of another organization with BAD_USER_INPUT on roleId", async () => {
    const owner = await app.user();
    const org = await createOrg(app, owner);
    const other = await createOrg(app, owner);
    expectError(await tryInvite(app, owner, org.id, uniqueEmail(), { roleId: other.roles.member }), { code: "BAD_USER_INPUT", field: "roleId" });
    expect(await invitationCount(org)).toBe(0);
  });

  it("refuses a group of another organization with BAD_USER_INPUT on groupIds, writing nothing", async () => {
    const owner = await app.user();
    const org = await createOrg(app, owner);
    const other = await createOrg(app, owner);
    const own = await createGroup(app, owner, org.id);
    const foreign = await createGroup(app, owner, other.id);
    expectError(await tryInvite(app, owner, org.id, uniqueEmail(), { groupIds: [own, foreign] }), { code: "BAD_USER_INPUT", field: "groupIds" });
    expect(await invitationCount(org)).toBe(0);
  });

  it("refuses an ID of the wrong type as roleId with BAD_USER_INPUT", async () => {
    const owner = await app.user();
    const org = await createOrg(app, owner);
    const group = await createGroup(app, owner, org.id);
    expectError(await tryInvite(app, owner, org.id, uniqueEmail(), { roleId: group }), { code: "BAD_USER_INPUT", field: "roleId" });
  });

  it("refuses invalid emails with BAD_USER_INPUT on email", async () => {
    const owner = await app.user();
    const org = await createOrg(app, owner);
    for (const email of ["", "   ", "no-at-sign", "two@@example.test", "space in@example.test", "a@b", "a@example.test,b@example.test"]) {
      expectError(await tryInvite(app, owner, org.id, email), { code: "BAD_USER_INPUT", field: "email" });
    }
    expect(await invitationCount(org)).toBe(0);
  });

  it("accepts metadata up to 4 KB and refuses a larger object with BAD_USER_INPUT on metadata", async () => {
    const owner = await app.user();
    const org = await createOrg(app, owner);
    // {"note":"…"} is 11 bytes plus the string.
    const fits = { note: "x".repeat(4096 - 11) };
    expect(Buffer.byteLength(JSON.stringify(fits))).toBe(4096);
    expect((await tryInvite(app, owner, org.id, uniqueEmail(), { metadata: fits })).errors).toBeUndefined();
    const tooBig = { note: "x".repeat(4096 - 10) };
    expectError(await tryInvite(app, owner, org.id, uniqueEmail(), { metadata: tooBig }), { code: "BAD_USER_INPUT", field: "metadata" });
    // Multi-byte characters count as bytes, not characters.
    const wide = { note: "é".repeat(2100) };
    expectError(await tryInvite(app, owner, org.id, uniqueEmail(), { metadata: wide }), { code: "BAD_USER_INPUT", field: "metadata" });
  });

  it("refuses metadata that is not a JSON object with BAD_USER_INPUT on metadata", async () => {
    const owner = await app.user();
    const org = await createOrg(app, owner);
    for (const metadata of ["a string", 42, [1, 2], true]) {
      expectError(await tryInvite(app, owner, org.id, uniqueEmail(), { metadata }), { code: "BAD_USER_INPUT", field: "metadata" });
    }
    expect(await invitationCount(org)).toBe(0);
  });

  it("refuses an expiresAt in the past or more than 30 days ahead with BAD_USER_INPUT on expiresAt", async () => {
    const owner = await app.user();
    const org = await createOrg(app, owner);
    const past = new Date(Date.now() - 60_000).toISOString();
    const far = new Date(Date.now() + 31 * DAY).toISOString();
    expectError(await tryInvite(app, owner, org.id, uniqueEmail(), { expiresAt: past }), { code: "BAD_USER_INPUT", field: "expiresAt" });
    expectError(await tryInvite(app, owner, org.id, uniqueEmail(), { expiresAt: far }), { code: "BAD_USER_INPUT", field: "expiresAt" });
    expect(await invitationCount(org)).toBe(0);
  });

  it("refuses an expiresAt that is not an ISO-8601 date-time as a request error (BAD_REQUEST), not an internal one", async () => {
    const owner = await app.user();
    const org = await createOrg(app, owner);
    for (const expiresAt of ["tomorrow", "2030-01-01", "2030-13-45T00:00:00Z", 12345]) {
      const result = await tryInvite(app, owner, org.id, uniqueEmail(), { expiresAt } as never);
      // The variable fails coercion before execution: a request error, like a missing variable.
      expectError(result, { code: "BAD_REQUEST" });
    }
    expect(await invitationCount(org)).toBe(0);
  });
});

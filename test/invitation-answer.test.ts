import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startApp, type TestApp, type TestUser } from "./helpers/app.js";
import {
  accept,
  addMember,
  createGroup,
  createOrg,
  decline,
  expectError,
  expire,
  invite,
  rawId,
  remove,
  resend,
  revoke,
  statusOf,
  storedInvitation,
  viewerId,
} from "./helpers/fixtures.js";

let app: TestApp;
beforeAll(async () => {
  app = await startApp();
});
afterAll(() => app?.close());


async function membershipCount(organizationId: string): Promise<number> {
  return app.db.prisma.membership.count({ where: { organizationId: rawId(organizationId) } });
}

describe("acceptInvitation", () => {
  it("by invitationId makes the invitee a member with the invitation's role and groups, and marks it ACCEPTED", async () => {
    const owner = await app.user();
    const org = await createOrg(app, owner);
    const design = await createGroup(app, owner, org.id, "Design");
    await createGroup(app, owner, org.id, "Unrelated");
    const invitee = await app.user();
    const invitation = await invite(app, owner, org.id, invitee.email, { roleId: org.roles.admin, groupIds: [design] });

    const result = await accept(app, invitee, { invitationId: invitation.id });
    expect(result.errors).toBeUndefined();
    const { invitation: answered, membership } = result.data!.acceptInvitation;
    expect(answered.status).toBe("ACCEPTED");
    expect(answered.acceptedAt).toEqual(expect.any(String));
    expect(answered.invitee.id).toBe(await viewerId(app, invitee));
    expect(membership.role.key).toBe("admin");
    expect(membership.groups).toEqual([{ id: design, name: "Design" }]);
    expect(membership.organization.id).toBe(org.id);
    expect(membership.user.id).toBe(await viewerId(app, invitee));

    const seen = await app.ok(
      `query ($id: ID!) { organization(id: $id) { memberCount viewerMembership { id role { key } } } }`,
      { id: org.id },
      invitee.token,
    );
    expect(seen.organization.memberCount).toBe(2);
    expect(seen.organization.viewerMembership).toEqual({ id: membership.id, role: { key: "admin" } });
  });

  it("by token works for the invitee, with the member role by default", async () => {
    const owner = await app.user();
    const org = await createOrg(app, owner);
    const invitee = await app.user();
    const invitation = await invite(app, owner, org.id, invitee.email);
    const result = await accept(app, invitee, { token: invitation.token });
    expect(result.errors).toBeUndefined();
    expect(result.data!.acceptInvitation.invitation).toMatchObject({ id: invitation.id, status: "ACCEPTED" });
    expect(result.data!.acceptInvitation.membership.role.key).toBe("member");
    expect(result.data!.acceptInvitation.membership.groups).toEqual([]);
  });

  it("lets the invitee's new permissions apply at once: an accepted admin can read the organization's invitations", async () => {
    const owner = await app.user();
    const org = await createOrg(app, owner);
    const admin = await addMember(app, org, owner, "admin");
    const data = await app.ok(`query ($id: ID!) { organization(id: $id) { invitations { totalCount } } }`, { id: org.id }, admin.token);
    expect(data.organization.invitations.totalCount).toBe(1);
  });

  it("needs exactly one of invitationId or token (BAD_USER_INPUT)", async () => {
    const owner = await app.user();
    const org = await createOrg(app, owner);
    const invitee = await app.user();
    const invitation = await invite(app, owner, org.id, invitee.email);
    expectError(await accept(app, invitee, {}), { code: "BAD_USER_INPUT" });
    expectError(await accept(app, invitee, { invitationId: invitation.id, token: invitation.token }), { code: "BAD_USER_INPUT" });
    expect(await statusOf(app, owner, invitation.id)).toBe("PENDING");
  });

  it("needs a token: UNAUTHENTICATED without one", async () => {
    const owner = await app.user();
    const org = await createOrg(app, owner);
    const invitation = await invite(app, owner, org.id, (await app.user()).email);
    const result = await app.gql(`mutation ($input: AcceptInvitationInput!) { acceptInvitation(input: $input) { invitation { id } } }`, {
      input: { token: invitation.token },
    }, null);
    expectError(result, { code: "UNAUTHENTICATED" });
  });
});

describe("declineInvitation", () => {
  it("by invitationId marks it DECLINED and creates no membership", async () => {
    const owner = await app.user();
    const org = await createOrg(app, owner);
    const invitee = await app.user();
    const invitation = await invite(app, owner, org.id, invitee.email);
    const result = await decline(app, invitee, { invitationId: invitation.id });
    expect(result.errors).toBeUndefined();
    expect(result.data!.declineInvitation.invitation).toMatchObject({ id: invitation.id, status: "DECLINED", declinedAt: expect.any(String) });
    expect(await membershipCount(org.id)).toBe(1);
  });

  it("by token works for the invitee", async () => {
    const owner = await app.user();
    const org = await createOrg(app, owner);
    const invitee = await app.user();
    const invitation = await invite(app, owner, org.id, invitee.email);
    const result = await decline(app, invitee, { token: invitation.token });
    expect(result.errors).toBeUndefined();
    expect(result.data!.declineInvitation.invitation.status).toBe("DECLINED");
  });
});

describe("only the invitee answers", () => {
  it("by invitationId: an admin who can read the invitation gets FORBIDDEN/EMAIL_MISMATCH", async () => {
    const owner = await app.user();
    const org = await createOrg(app, owner);
    const admin = await addMember(app, org, owner, "admin");
    const invitation = await invite(app, owner, org.id, (await app.user()).email);
    expectError(await accept(app, admin, { invitationId: invitation.id }), { code: "FORBIDDEN", reason: "EMAIL_MISMATCH" });
    expectError(await decline(app, owner, { invitationId: invitation.id }), { code: "FORBIDDEN", reason: "EMAIL_MISMATCH" });
    expect(await statusOf(app, owner, invitation.id)).toBe("PENDING");
  });

  it("by invitationId: a viewer who may not read the invitation gets NOT_FOUND", async () => {
    const owner = await app.user();
    const org = await createOrg(app, owner);
    const member = await addMember(app, org, owner, "member");
    const outsider = await app.user();
    const invitation = await invite(app, owner, org.id, (await app.user()).email);
    expectError(await accept(app, outsider, { invitationId: invitation.id }), { code: "NOT_FOUND" });
    expectError(await decline(app, outsider, { invitationId: invitation.id }), { code: "NOT_FOUND" });
    // A plain member has no invitations:read, so cannot know the invitation exists either.
    expectError(await accept(app, member, { invitationId: invitation.id }), { code: "NOT_FOUND" });
    expect(await statusOf(app, owner, invitation.id)).toBe("PENDING");
  });

  it("by token: a viewer with another email gets FORBIDDEN/EMAIL_MISMATCH", async () => {
    const owner = await app.user();
    const org = await createOrg(app, owner);
    const stranger = await app.user();
    const invitation = await invite(app, owner, org.id, (await app.user()).email);
    expectError(await accept(app, stranger, { token: invitation.token }), { code: "FORBIDDEN", reason: "EMAIL_MISMATCH" });
    expectError(await decline(app, stranger, { token: invitation.token }), { code: "FORBIDDEN", reason: "EMAIL_MISMATCH" });
    expect(await statusOf(app, owner, invitation.id)).toBe("PENDING");
    expect(await membershipCount(org.id)).toBe(1);
  });

  it("by token: an unknown token is NOT_FOUND", async () => {
    const user = await app.user();
    expectError(await accept(app, user, { token: "inv_this-token-was-never-issued-0123456789abcdef" }), { code: "NOT_FOUND" });
    expectError(await decline(app, user, { token: "x" }), { code: "NOT_FOUND" });
  });

  it("by token: a token replaced by resend is NOT_FOUND, the new one works", async () => {
    const owner = await app.user();
    const org = await createOrg(app, owner);
    const invitee = await app.user();
    const invitation = await invite(app, owner, org.id, invitee.email);
    const resent = await resend(app, owner, invitation.id);
    expect(resent.errors).toBeUndefined();
    expectError(await accept(app, invitee, { token: invitation.token }), { code: "NOT_FOUND" });
    const result = await accept(app, invitee, { token: resent.data!.resendInvitation.token });
    expect(result.errors).toBeUndefined();
  });

  it("by token: the token of a deleted invitation is NOT_FOUND", async () => {
    const owner = await app.user();
    const org = await createOrg(app, owner);
    const invitee = await app.user();
    const invitation = await invite(app, owner, org.id, invitee.email);
    expect((await remove(app, owner, invitation.id)).errors).toBeUndefined();
    expectError(await accept(app, invitee, { token: invitation.token }), { code: "NOT_FOUND" });
    expect(await membershipCount(org.id)).toBe(1);
  });
});

describe("unverified emails", () => {
  it("cannot answer (FORBIDDEN/EMAIL_NOT_VERIFIED) by id or token, but can still read the invitation", async () => {
    const owner = await app.user();
    const org = await createOrg(app, owner);
    const invitee = await app.user({ emailVerified: false });
    const invitation = await invite(app, owner, org.id, invitee.email);

    expectError(await accept(app, invitee, { invitationId: invitation.id }), { code: "FORBIDDEN", reason: "EMAIL_NOT_VERIFIED" });
    expectError(await accept(app, invitee, { token: invitation.token }), { code: "FORBIDDEN", reason: "EMAIL_NOT_VERIFIED" });
    expectError(await decline(app, invitee, { invitationId: invitation.id }), { code: "FORBIDDEN", reason: "EMAIL_NOT_VERIFIED" });

    const read = await app.ok(
      `query ($id: ID!) { invitation(id: $id) { id status organization { name } } pendingInvitations { totalCount } }`,
      { id: invitation.id },
      invitee.token,
    );
    expect(read.invitation).toMatchObject({ id: invitation.id, status: "PENDING", organization: { name: org.name } });
    expect(read.pendingInvitations.totalCount).toBe(1);
    expect(await membershipCount(org.id)).toBe(1);
  });

  it("can answer once the issuer says the email is verified (same user, new token)", async () => {
    const owner = await app.user();
    const org = await createOrg(app, owner);
    const unverified = await app.user({ emailVerified: false });
    const invitation = await invite(app, owner, org.id, unverified.email);
    expectError(await accept(app, unverified, { invitationId: invitation.id }), { code: "FORBIDDEN", reason: "EMAIL_NOT_VERIFIED" });
    const verified = await app.user({ sub: unverified.sub, email: unverified.email, emailVerified: true });
    expect((await accept(app, verified, { invitationId: invitation.id })).errors).toBeUndefined();
  });

  it("a token without an email_verified claim may answer (only an explicit false blocks)", async () => {
    const owner = await app.user();
    const org = await createOrg(app, owner);
    const invitee = await app.user();
    const invitation = await invite(app, owner, org.id, invitee.email);
    expect((await accept(app, invitee, { invitationId: invitation.id })).errors).toBeUndefined();
  });
});

describe("answering what is not pending", () => {
  it("an expired invitation is CONFLICT/INVITATION_EXPIRED for accept and decline, and stays EXPIRED", async () => {
    const owner = await app.user();
    const org = await createOrg(app, owner);
    const invitee = await app.user();
    const invitation = await invite(app, owner, org.id, invitee.email);
    await expire(app, invitation.id);
    expectError(await accept(app, invitee, { invitationId: invitation.id }), { code: "CONFLICT", reason: "INVITATION_EXPIRED" });
    expectError(await accept(app, invitee, { token: invitation.token }), { code: "CONFLICT", reason: "INVITATION_EXPIRED" });
    expectError(await decline(app, invitee, { invitationId: invitation.id }), { code: "CONFLICT", reason: "INVITATION_EXPIRED" });
    expect(await statusOf(app, invitee, invitation.id)).toBe("EXPIRED");
    expect(await membershipCount(org.id)).toBe(1);
  });

  it("an invitation replaced after expiring stays INVITATION_EXPIRED", async () => {
    const owner = await app.user();
    const org = await createOrg(app, owner);
    const invitee = await app.user();
    const old = await invite(app, owner, org.id, invitee.email);
    await expire(app, old.id);
    await invite(app, owner, org.id, invitee.email);
    expectError(await accept(app, invitee, { token: old.token }), { code: "CONFLICT", reason: "INVITATION_EXPIRED" });
  });

  it("an accepted invitation is CONFLICT/INVITATION_NOT_PENDING when answered again", async () => {
    const owner = await app.user();
    const org = await createOrg(app, owner);
    const invitee = await app.user();
    const invitation = await invite(app, owner, org.id, invitee.email);
    expect((await accept(app, invitee, { invitationId: invitation.id })).errors).toBeUndefined();
    expectError(await accept(app, invitee, { invitationId: invitation.id }), { code: "CONFLICT", reason: "INVITATION_NOT_PENDING" });
    expectError(await decline(app, invitee, { token: invitation.token }), { code: "CONFLICT", reason: "INVITATION_NOT_PENDING" });
    expect(await statusOf(app, invitee, invitation.id)).toBe("ACCEPTED");
    expect(await membershipCount(org.id)).toBe(2);
  });

  it("a declined invitation cannot be accepted (CONFLICT/INVITATION_NOT_PENDING)", async () => {
    const owner = await app.user();
    const org = await createOrg(app, owner);
    const invitee = await app.user();
    const invitation = await invite(app, owner, org.id, invitee.email);
    expect((await decline(app, invitee, { invitationId: invitation.id })).errors).toBeUndefined();
    expectError(await accept(app, invitee, { invitationId: invitation.id }), { code: "CONFLICT", reason: "INVITATION_NOT_PENDING" });
    expect(await membershipCount(org.id)).toBe(1);
  });

  it("a revoked invitation cannot be accepted (CONFLICT/INVITATION_NOT_PENDING), and it is still readable by the invitee", async () => {
    const owner = await app.user();
    const org = await createOrg(app, owner);
    const invitee = await app.user();
    const invitation = await invite(app, owner, org.id, invitee.email);
    expect((await revoke(app, owner, invitation.id)).errors).toBeUndefined();
    expectError(await accept(app, invitee, { token: invitation.token }), { code: "CONFLICT", reason: "INVITATION_NOT_PENDING" });
    expect(await statusOf(app, invitee, invitation.id)).toBe("REVOKED");
  });
});

describe("atomicity", () => {
  it("a failed accept writes nothing: the invitation stays pending when the membership cannot be created", async () => {
    const owner = await app.user();
    const org = await createOrg(app, owner);
    const invitee = await app.user();
    const invitation = await invite(app, owner, org.id, invitee.email);
    // The invitee became a member some other way (say an admin tool) while the invitation was out.
    await app.db.prisma.membership.create({
      data: { userId: rawId(await viewerId(app, invitee)), organizationId: rawId(org.id), roleId: rawId(org.roles.member) },
    });
    expectError(await accept(app, invitee, { invitationId: invitation.id }), { code: "CONFLICT", reason: "ALREADY_MEMBER" });
    const row = await storedInvitation(app, invitation.id);
    expect(row.status).toBe("PENDING");
    expect(row.acceptedAt).toBeNull();
    expect(row.inviteeId).toBeNull();
    expect(await membershipCount(org.id)).toBe(2);
  });

  it("two concurrent accepts of one invitation: exactly one succeeds", async () => {
    const owner = await app.user();
    const org = await createOrg(app, owner);
    const invitee = await app.user();
    const invitation = await invite(app, owner, org.id, invitee.email);
    const results = await Promise.all(
      Array.from({ length: 4 }, (_, i) => accept(app, invitee, i % 2 ? { token: invitation.token } : { invitationId: invitation.id })),
    );
    const succeeded = results.filter((r) => !r.errors);
    expect(succeeded).toHaveLength(1);
    for (const failed of results.filter((r) => r.errors)) {
      expectError(failed, { code: "CONFLICT", reason: "INVITATION_NOT_PENDING" });
    }
    expect(await membershipCount(org.id)).toBe(2);
  });

  it("a concurrent accept and decline: exactly one wins and the state matches it", async () => {
    const owner = await app.user();
    const org = await createOrg(app, owner);
    const invitee = await app.user();
    const invitation = await invite(app, owner, org.id, invitee.email);
    const [accepted, declined] = await Promise.all([
      accept(app, invitee, { invitationId: invitation.id }),
      decline(app, invitee, { invitationId: invitation.id }),
    ]);
    expect([accepted, declined].filter((r) => !r.errors)).toHaveLength(1);
    const status = await statusOf(app, invitee, invitation.id);
    expect(status).toBe(accepted.errors ? "DECLINED" : "ACCEPTED");
    expect(await membershipCount(org.id)).toBe(accepted.errors ? 1 : 2);
  });
});

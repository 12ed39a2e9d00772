import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startApp, uniqueEmail, type TestApp, type TestUser } from "./helpers/app.js";
import {
  accept,
  addMember,
  createOrg,
  decline,
  expectError,
  expire,
  globalId,
  invite,
  remove,
  resend,
  revoke,
  statusOf,
  storedInvitation,
  type TestOrg,
} from "./helpers/fixtures.js";

let app: TestApp;
beforeAll(async () => {
  app = await startApp();
});
afterAll(() => app?.close());

/** An organization with one accepted, one declined and one revoked invitation. */
async function answeredInvitations() {
  const owner = await app.user();
  const org = await createOrg(app, owner);
  const a = await app.user();
  const accepted = await invite(app, owner, org.id, a.email);
  await accept(app, a, { invitationId: accepted.id });
  const d = await app.user();
  const declined = await invite(app, owner, org.id, d.email);
  await decline(app, d, { invitationId: declined.id });
  const revoked = await invite(app, owner, org.id, uniqueEmail());
  await revoke(app, owner, revoked.id);
  return { owner, org, accepted, declined, revoked };
}

const DAY = 24 * 3600_000;

const ORG_INVITATIONS = /* GraphQL */ `
  query ($id: ID!, $status: [InvitationStatus!], $email: String) {
    organization(id: $id) {
      invitations(status: $status, email: $email) { totalCount edges { node { id email status } } }
    }
  }
`;

async function listInvitations(reader: TestUser, org: TestOrg, filters: { status?: string[]; email?: string } = {}) {
  const data = await app.ok(ORG_INVITATIONS, { id: org.id, ...filters }, reader.token);
  const connection = data.organization.invitations;
  return { totalCount: connection.totalCount as number, ids: connection.edges.map((e: any) => e.node.id) as string[], nodes: connection.edges.map((e: any) => e.node) };
}

describe("Organization.invitations", () => {
  it("lists every invitation newest first to holders of invitations:read", async () => {
    const owner = await app.user();
    const org = await createOrg(app, owner);
    const a = await invite(app, owner, org.id, uniqueEmail("a"));
    const b = await invite(app, owner, org.id, uniqueEmail("b"));
    const c = await invite(app, owner, org.id, uniqueEmail("c"));
    const admin = await addMember(app, org, owner, "admin");
    const list = await listInvitations(admin, org);
    // The admin's own (accepted) invitation is the newest.
    expect(list.ids.slice(1)).toEqual([c.id, b.id, a.id]);
    expect(list.totalCount).toBe(4);
  });

  it("is FORBIDDEN/MISSING_PERMISSION to a plain member and to an invitee", async () => {
    const owner = await app.user();
    const org = await createOrg(app, owner);
    const member = await addMember(app, org, owner, "member");
    const invitee = await app.user();
    await invite(app, owner, org.id, invitee.email);
    for (const viewer of [member, invitee]) {
      const result = await app.gql(ORG_INVITATIONS, { id: org.id }, viewer.token);
      expectError(result, { code: "FORBIDDEN", reason: "MISSING_PERMISSION" });
      expect(result.data?.organization ?? null).toBeNull();
    }
  });

  it("filters by status, with EXPIRED derived from expiresAt and left out of PENDING", async () => {
    const owner = await app.user();
    const org = await createOrg(app, owner);
    const pending = await invite(app, owner, org.id, uniqueEmail("pending"));
    const expired = await invite(app, owner, org.id, uniqueEmail("expired"));
    await expire(app, expired.id);
    const declinedUser = await app.user();
    const declined = await invite(app, owner, org.id, declinedUser.email);
    await decline(app, declinedUser, { invitationId: declined.id });
    const revoked = await invite(app, owner, org.id, uniqueEmail("revoked"));
    await revoke(app, owner, revoked.id);
    const acceptedUser = await app.user();
    const accepted = await invite(app, owner, org.id, acceptedUser.email);
    await accept(app, acceptedUser, { token: accepted.token });

    const by = async (status: string[]) => (await listInvitations(owner, org, { status })).ids;
    expect(await by(["PENDING"])).toEqual([pending.id]);
    expect(await by(["EXPIRED"])).toEqual([expired.id]);
    expect(await by(["DECLINED"])).toEqual([declined.id]);
    expect(await by(["REVOKED"])).toEqual([revoked.id]);
    expect(await by(["ACCEPTED"])).toEqual([accepted.id]);
    expect(await by(["PENDING", "EXPIRED"])).toEqual([expired.id, pending.id]);
    const all = await listInvitations(owner, org);
    expect(all.totalCount).toBe(5);
    expect(Object.fromEntries(all.nodes.map((n: any) => [n.id, n.status]))).toEqual({
      [pending.id]: "PENDING",
      [expired.id]: "EXPIRED",
      [declined.id]: "DECLINED",
      [revoked.id]: "REVOKED",
      [accepted.id]: "ACCEPTED",
    });
    expect((await listInvitations(owner, org, { status: ["PENDING", "EXPIRED"] })).totalCount).toBe(2);
  });

  it("filters by email, compared trimmed and lower-cased", async () => {
    const owner = await app.user();
    const org = await createOrg(app, owner);
    const email = uniqueEmail("wanted");
    const first = await invite(app, owner, org.id, email);
    await expire(app, first.id);
    const second = await invite(app, owner, org.id, email);
    await invite(app, owner, org.id, uniqueEmail("other"));
    const list = await listInvitations(owner, org, { email: `  ${email.toUpperCase()} ` });
    expect(list.ids).toEqual([second.id, first.id]);
    expect(list.totalCount).toBe(2);
    expect((await listInvitations(owner, org, { email: uniqueEmail("nobody") })).totalCount).toBe(0);
  });

  it("refuses an email filter that is not an address with BAD_USER_INPUT on email", async () => {
    const owner = await app.user();
    const org = await createOrg(app, owner);
    expectError(await app.gql(ORG_INVITATIONS, { id: org.id, email: "not an email" }, owner.token), { code: "BAD_USER_INPUT", field: "email" });
  });
});

describe("revokeInvitation", () => {
  it("moves a pending invitation to REVOKED; its token no longer works and the invitee no longer sees the organization", async () => {
    const owner = await app.user();
    const org = await createOrg(app, owner);
    const admin = await addMember(app, org, owner, "admin");
    const invitee = await app.user();
    const invitation = await invite(app, owner, org.id, invitee.email);
    const result = await revoke(app, admin, invitation.id);
    expect(result.errors).toBeUndefined();
    expect(result.data!.revokeInvitation.invitation).toMatchObject({ id: invitation.id, status: "REVOKED", revokedAt: expect.any(String) });
    expectError(await accept(app, invitee, { token: invitation.token }), { code: "CONFLICT", reason: "INVITATION_NOT_PENDING" });
    expectError(await app.gql(`query ($id: ID!) { organization(id: $id) { id } }`, { id: org.id }, invitee.token), { code: "NOT_FOUND" });
    const pending = await app.ok(`{ pendingInvitations { totalCount } }`, {}, invitee.token);
    expect(pending.pendingInvitations.totalCount).toBe(0);
  });

  it("moves an expired invitation to REVOKED", async () => {
    const owner = await app.user();
    const org = await createOrg(app, owner);
    const invitation = await invite(app, owner, org.id, uniqueEmail());
    await expire(app, invitation.id);
    const result = await revoke(app, owner, invitation.id);
    expect(result.errors).toBeUndefined();
    expect(result.data!.revokeInvitation.invitation.status).toBe("REVOKED");
  });

  it("is CONFLICT/INVITATION_NOT_PENDING for accepted, declined and revoked invitations, which keep their status", async () => {
    const { owner, accepted, declined, revoked } = await answeredInvitations();
    for (const [invitation, status] of [[accepted, "ACCEPTED"], [declined, "DECLINED"], [revoked, "REVOKED"]] as const) {
      expectError(await revoke(app, owner, invitation.id), { code: "CONFLICT", reason: "INVITATION_NOT_PENDING" });
      expect(await statusOf(app, owner, invitation.id)).toBe(status);
    }
  });

  it("needs invitations:revoke: a member or the invitee gets FORBIDDEN/MISSING_PERMISSION, an outsider NOT_FOUND", async () => {
    const owner = await app.user();
    const org = await createOrg(app, owner);
    const member = await addMember(app, org, owner, "member");
    const invitee = await app.user();
    const outsider = await app.user();
    const invitation = await invite(app, owner, org.id, invitee.email);
    expectError(await revoke(app, member, invitation.id), { code: "FORBIDDEN", reason: "MISSING_PERMISSION" });
    expectError(await revoke(app, invitee, invitation.id), { code: "FORBIDDEN", reason: "MISSING_PERMISSION" });
    expectError(await revoke(app, outsider, invitation.id), { code: "NOT_FOUND" });
    expect(await statusOf(app, owner, invitation.id)).toBe("PENDING");
  });

  it("is NOT_FOUND for an invitation that does not exist", async () => {
    const owner = await app.user();
    expectError(await revoke(app, owner, globalId("Invitation", "00000000-0000-7000-8000-000000000000")), { code: "NOT_FOUND" });
  });
});

describe("resendInvitation", () => {
  it("issues a new token and expiresAt; the old token stops working and the new one works", async () => {
    const owner = await app.user();
    const org = await createOrg(app, owner);
    const invitee = await app.user();
    const shortExpiry = new Date(Date.now() + DAY).toISOString();
    const invitation = await invite(app, owner, org.id, invitee.email, { expiresAt: shortExpiry });
    const hashBefore = (await storedInvitation(app, invitation.id)).tokenHash;

    const result = await resend(app, owner, invitation.id);
    expect(result.errors).toBeUndefined();
    const { token, invitation: resent } = result.data!.resendInvitation;
    expect(resent).toMatchObject({ id: invitation.id, status: "PENDING" });
    expect(token).not.toBe(invitation.token);
    expect(token.length).toBeGreaterThanOrEqual(22);
    expect(new Date(resent.expiresAt).getTime()).toBeGreaterThan(new Date(shortExpiry).getTime() + 5 * DAY);
    const row = await storedInvitation(app, invitation.id);
    expect(row.tokenHash).not.toBe(hashBefore);
    expect(JSON.stringify(row)).not.toContain(token);

    expectError(await accept(app, invitee, { token: invitation.token }), { code: "NOT_FOUND" });
    expect((await accept(app, invitee, { token })).errors).toBeUndefined();
  });

  it("makes an expired invitation pending again", async () => {
    const owner = await app.user();
    const org = await createOrg(app, owner);
    const invitee = await app.user();
    const invitation = await invite(app, owner, org.id, invitee.email);
    await expire(app, invitation.id);
    const result = await resend(app, owner, invitation.id);
    expect(result.errors).toBeUndefined();
    expect(result.data!.resendInvitation.invitation.status).toBe("PENDING");
    expect(new Date(result.data!.resendInvitation.invitation.expiresAt).getTime()).toBeGreaterThan(Date.now());
    const pending = await app.ok(`{ pendingInvitations { edges { node { id } } } }`, {}, invitee.token);
    expect(pending.pendingInvitations.edges.map((e: any) => e.node.id)).toEqual([invitation.id]);
  });

  it("makes an expired invitation that a newer one replaced pending again only if that one is gone", async () => {
    const owner = await app.user();
    const org = await createOrg(app, owner);
    const email = uniqueEmail();
    const old = await invite(app, owner, org.id, email);
    await expire(app, old.id);
    const newer = await invite(app, owner, org.id, email);
    expectError(await resend(app, owner, old.id), { code: "CONFLICT", reason: "ALREADY_INVITED" });
    expect(await statusOf(app, owner, old.id)).toBe("EXPIRED");
    expect(await statusOf(app, owner, newer.id)).toBe("PENDING");
    // The failed resend changed nothing: the old token is still the one on record (and still expired).
    expectError(await app.gql(`mutation ($input: AcceptInvitationInput!) { acceptInvitation(input: $input) { invitation { id } } }`, {
      input: { token: old.token },
    }, (await app.user({ email })).token), { code: "CONFLICT", reason: "INVITATION_EXPIRED" });

    await revoke(app, owner, newer.id);
    const again = await resend(app, owner, old.id);
    expect(again.errors).toBeUndefined();
    expect(again.data!.resendInvitation.invitation.status).toBe("PENDING");
  });

  it("is CONFLICT/INVITATION_NOT_PENDING for accepted, declined and revoked invitations", async () => {
    const { owner, accepted, declined, revoked } = await answeredInvitations();
    for (const invitation of [accepted, declined, revoked]) {
      const before = (await storedInvitation(app, invitation.id)).tokenHash;
      expectError(await resend(app, owner, invitation.id), { code: "CONFLICT", reason: "INVITATION_NOT_PENDING" });
      expect((await storedInvitation(app, invitation.id)).tokenHash).toBe(before);
    }
  });

  it("follows the role-escalation rule: an admin cannot resend an owner invitation (FORBIDDEN/ROLE_ESCALATION)", async () => {
    const owner = await app.user();
    const org = await createOrg(app, owner);
    const admin = await addMember(app, org, owner, "admin");
    const ownerInvite = await invite(app, owner, org.id, uniqueEmail(), { roleId: org.roles.owner });
    const before = (await storedInvitation(app, ownerInvite.id)).tokenHash;
    expectError(await resend(app, admin, ownerInvite.id), { code: "FORBIDDEN", reason: "ROLE_ESCALATION" });
    expect((await storedInvitation(app, ownerInvite.id)).tokenHash).toBe(before);
    const memberInvite = await invite(app, owner, org.id, uniqueEmail());
    expect((await resend(app, admin, memberInvite.id)).errors).toBeUndefined();
  });

  it("needs invitations:create: a member gets FORBIDDEN/MISSING_PERMISSION, an outsider NOT_FOUND", async () => {
    const owner = await app.user();
    const org = await createOrg(app, owner);
    const member = await addMember(app, org, owner, "member");
    const outsider = await app.user();
    const invitation = await invite(app, owner, org.id, uniqueEmail());
    expectError(await resend(app, member, invitation.id), { code: "FORBIDDEN", reason: "MISSING_PERMISSION" });
    expectError(await resend(app, outsider, invitation.id), { code: "NOT_FOUND" });
  });
});

describe("deleteInvitation", () => {
  it("removes an invitation from every list and lookup: lists, invitation(id), node(id), token, organization visibility", async () => {
    const owner = await app.user();
    const org = await createOrg(app, owner);
    const invitee = await app.user();
    const invitation = await invite(app, owner, org.id, invitee.email);
    const kept = await invite(app, owner, org.id, uniqueEmail());

    const result = await remove(app, owner, invitation.id);
    expect(result.errors).toBeUndefined();
    expect(result.data!.deleteInvitation.deletedInvitationId).toBe(invitation.id);

    const list = await listInvitations(owner, org);
    expect(list.ids).toEqual([kept.id]);
    expect(list.totalCount).toBe(1);
    for (const viewer of [owner, invitee]) {
      expectError(await app.gql(`query ($id: ID!) { invitation(id: $id) { id } }`, { id: invitation.id }, viewer.token), { code: "NOT_FOUND" });
      expectError(await app.gql(`query ($id: ID!) { node(id: $id) { id } }`, { id: invitation.id }, viewer.token), { code: "NOT_FOUND" });
    }
    const mine = await app.ok(`{ pendingInvitations { totalCount edges { node { id } } } viewer { pendingInvitations { totalCount } } }`, {}, invitee.token);
    expect(mine.pendingInvitations).toEqual({ totalCount: 0, edges: [] });
    expect(mine.viewer.pendingInvitations.totalCount).toBe(0);
    expectError(await accept(app, invitee, { token: invitation.token }), { code: "NOT_FOUND" });
    expectError(await app.gql(`query ($id: ID!) { organization(id: $id) { id } }`, { id: org.id }, invitee.token), { code: "NOT_FOUND" });
    // Deleted is gone for the admin mutations too.
    expectError(await revoke(app, owner, invitation.id), { code: "NOT_FOUND" });
    expectError(await resend(app, owner, invitation.id), { code: "NOT_FOUND" });
    expectError(await remove(app, owner, invitation.id), { code: "NOT_FOUND" });
  });

  it("deletes invitations whatever their status, and frees the email for a new invitation", async () => {
    const owner = await app.user();
    const org = await createOrg(app, owner);
    const a = await app.user();
    const accepted = await invite(app, owner, org.id, a.email);
    await accept(app, a, { invitationId: accepted.id });
    const email = uniqueEmail();
    const pending = await invite(app, owner, org.id, email);
    for (const invitation of [accepted, pending]) expect((await remove(app, owner, invitation.id)).errors).toBeUndefined();
    expect((await listInvitations(owner, org)).totalCount).toBe(0);
    await expect(invite(app, owner, org.id, email)).resolves.toBeTruthy();
    // Deleting the invitation does not undo the membership it created.
    const members = await app.ok(`query ($id: ID!) { organization(id: $id) { memberCount } }`, { id: org.id }, a.token);
    expect(members.organization.memberCount).toBe(2);
  });

  it("needs invitations:revoke: an admin may, a member gets FORBIDDEN/MISSING_PERMISSION, an outsider NOT_FOUND", async () => {
    const owner = await app.user();
    const org = await createOrg(app, owner);
    const admin = await addMember(app, org, owner, "admin");
    const member = await addMember(app, org, owner, "member");
    const outsider = await app.user();
    const invitation = await invite(app, owner, org.id, uniqueEmail());
    expectError(await remove(app, member, invitation.id), { code: "FORBIDDEN", reason: "MISSING_PERMISSION" });
    expectError(await remove(app, outsider, invitation.id), { code: "NOT_FOUND" });
    expect(await statusOf(app, owner, invitation.id)).toBe("PENDING");
    expect((await remove(app, admin, invitation.id)).errors).toBeUndefined();
  });
});

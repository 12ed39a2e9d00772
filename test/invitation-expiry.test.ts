/**
 * Expiry follows the server's clock (src/clock.ts): moving it expires invitations without sleeping, and every place
 * that reads "now" (status, answers, pending lists, resend) agrees on the moment.
 */
import { afterAll, afterEach, beforeAll, expect, it } from "vitest";
import { resetClock, setClock } from "../src/clock.js";
import { startApp, type TestApp } from "./helpers/app.js";
import { accept, createOrg, expectError, invite, resend, statusOf } from "./helpers/fixtures.js";

let app: TestApp;
beforeAll(async () => {
  app = await startApp({ invitationTtlHours: 24 });
});
afterEach(() => resetClock());
afterAll(() => app?.close());

const HOUR = 3600_000;
const PENDING = /* GraphQL */ `{ pendingInvitations(first: 100) { edges { node { id } } } }`;

async function pendingIds(token: string): Promise<string[]> {
  const data = await app.ok(PENDING, {}, token);
  return data.pendingInvitations.edges.map((e: { node: { id: string } }) => e.node.id);
}

it("an invitation is pending until its expiresAt and expired from that instant on", async () => {
  const owner = await app.user();
  const org = await createOrg(app, owner);
  const invitee = await app.user();
  const invitation = await invite(app, owner, org.id, invitee.email);
  const expiresAt = new Date((await app.ok(`query ($id: ID!) { invitation(id: $id) { expiresAt } }`, { id: invitation.id }, owner.token)).invitation.expiresAt);

  setClock({ at: new Date(expiresAt.getTime() - 1) });
  expect(await statusOf(app, owner, invitation.id)).toBe("PENDING");
  expect(await pendingIds(invitee.token)).toContain(invitation.id);

  setClock({ at: expiresAt });
  expect(await statusOf(app, owner, invitation.id)).toBe("EXPIRED");
  expect(await pendingIds(invitee.token)).not.toContain(invitation.id);
  expectError(await accept(app, invitee, { invitationId: invitation.id }), { code: "CONFLICT", reason: "INVITATION_EXPIRED" });
});

it("a resend at a later clock gives an expiry INVITATION_TTL_HOURS after that clock, and the invitation answers again", async () => {
  const owner = await app.user();
  const org = await createOrg(app, owner);
  const invitee = await app.user();
  const invitation = await invite(app, owner, org.id, invitee.email);

  const later = new Date(Date.now() + 30 * 24 * HOUR);
  setClock({ at: later });
  expect(await statusOf(app, owner, invitation.id)).toBe("EXPIRED");
  const resent = await resend(app, owner, invitation.id);
  expect(resent.errors).toBeUndefined();
  expect(new Date(resent.data!.resendInvitation.invitation.expiresAt).getTime()).toBe(later.getTime() + 24 * HOUR);
  expect(resent.data!.resendInvitation.invitation.status).toBe("PENDING");

  const result = await accept(app, invitee, { token: resent.data!.resendInvitation.token });
  expect(result.errors).toBeUndefined();
  expect(result.data!.acceptInvitation.invitation.status).toBe("ACCEPTED");
  expect(new Date(result.data!.acceptInvitation.invitation.acceptedAt).getTime()).toBe(later.getTime());
});

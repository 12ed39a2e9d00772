/** INVITATION_TTL_HOURS sets the default expiry of new and resent invitations. */
import { afterAll, beforeAll, expect, it } from "vitest";
import { startApp, uniqueEmail, type TestApp } from "./helpers/app.js";
import { CREATE_INVITATION, createOrg, expire, resend } from "./helpers/fixtures.js";

let app: TestApp;
beforeAll(async () => {
  app = await startApp({ invitationTtlHours: 48 });
});
afterAll(() => app?.close());

const HOUR = 3600_000;

function expectWithin(iso: string, from: number, to: number) {
  const at = new Date(iso).getTime();
  expect(at).toBeGreaterThanOrEqual(from);
  expect(at).toBeLessThanOrEqual(to);
}

it("new invitations expire INVITATION_TTL_HOURS after creation when no expiresAt is given", async () => {
  const owner = await app.user();
  const org = await createOrg(app, owner);
  const before = Date.now();
  const data = await app.ok(CREATE_INVITATION, { input: { organizationId: org.id, email: uniqueEmail() } }, owner.token);
  expectWithin(data.createInvitation.invitation.expiresAt, before + 48 * HOUR - 1000, Date.now() + 48 * HOUR + 1000);
});

it("a resent invitation gets a fresh INVITATION_TTL_HOURS expiry", async () => {
  const owner = await app.user();
  const org = await createOrg(app, owner);
  const data = await app.ok(CREATE_INVITATION, { input: { organizationId: org.id, email: uniqueEmail() } }, owner.token);
  await expire(app, data.createInvitation.invitation.id);
  const before = Date.now();
  const result = await resend(app, owner, data.createInvitation.invitation.id);
  expect(result.errors).toBeUndefined();
  expectWithin(result.data!.resendInvitation.invitation.expiresAt, before + 48 * HOUR - 1000, Date.now() + 48 * HOUR + 1000);
});

/**
 * The lifecycle operations themselves (src/invitations/lifecycle.ts), called with a transaction the way a resolver or
 * a worker calls them: what they enforce does not depend on the permission check that runs before them in a request.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { now } from "../src/clock.js";
import * as lifecycle from "../src/invitations/lifecycle.js";
import { hashToken } from "../src/invitations/token.js";
import { startApp, type TestApp } from "./helpers/app.js";
import { accept, createOrg, decline, expectError, invite, rawId, resend, statusOf, viewerId } from "./helpers/fixtures.js";

let app: TestApp;
beforeAll(async () => {
  app = await startApp();
});
afterAll(() => app?.close());

async function resentInvitation() {
  const owner = await app.user();
  const org = await createOrg(app, owner);
  const invitee = await app.user();
  const invitation = await invite(app, owner, org.id, invitee.email);
  const resent = await resend(app, owner, invitation.id);
  expect(resent.errors).toBeUndefined();
  const target = { id: rawId(invitation.id), organizationId: rawId(org.id), email: invitee.email };
  const actor = { kind: "user" as const, id: rawId(await viewerId(app, invitee)) };
  return { owner, org, invitee, invitation, newToken: resent.data!.resendInvitation.token as string, target, actor };
}

describe("answering by a token that a resend replaced", () => {
  it("accept with the replaced token's hash is NOT_FOUND at the write itself, and changes nothing", async () => {
    const { owner, invitation, target, actor } = await resentInvitation();
    const stale = { ...target, tokenHash: hashToken(invitation.token) };
    await expect(app.db.prisma.$transaction((tx) => lifecycle.accept(tx, actor, stale, now()))).rejects.toMatchObject({
      extensions: { code: "NOT_FOUND" },
    });
    expect(await statusOf(app, owner, invitation.id)).toBe("PENDING");
  });

  it("decline with the replaced token's hash is NOT_FOUND at the write itself", async () => {
    const { owner, invitation, target, actor } = await resentInvitation();
    const stale = { ...target, tokenHash: hashToken(invitation.token) };
    await expect(app.db.prisma.$transaction((tx) => lifecycle.decline(tx, actor, stale, now()))).rejects.toMatchObject({
      extensions: { code: "NOT_FOUND" },
    });
    expect(await statusOf(app, owner, invitation.id)).toBe("PENDING");
  });

  it("the current token's hash answers", async () => {
    const { owner, invitation, newToken, target, actor } = await resentInvitation();
    const current = { ...target, tokenHash: hashToken(newToken) };
    const result = await app.db.prisma.$transaction((tx) => lifecycle.decline(tx, actor, current, now()));
    expect(result.status).toBe("DECLINED");
    expect(await statusOf(app, owner, invitation.id)).toBe("DECLINED");
  });

  it("through the API, both answers by the replaced token are NOT_FOUND and the new token works", async () => {
    const { invitee, invitation, newToken } = await resentInvitation();
    expectError(await accept(app, invitee, { token: invitation.token }), { code: "NOT_FOUND" });
    expectError(await decline(app, invitee, { token: invitation.token }), { code: "NOT_FOUND" });
    expect((await accept(app, invitee, { token: newToken })).errors).toBeUndefined();
  });
});

describe("deleteInvitation", () => {
  it("runs in a transaction: a failure after the write rolls the delete back", async () => {
    const owner = await app.user();
    const org = await createOrg(app, owner);
    const invitation = await invite(app, owner, org.id, (await app.user()).email);
    const actor = { kind: "user" as const, id: rawId(await viewerId(app, owner)) };
    await expect(
      app.db.prisma.$transaction(async (tx) => {
        await lifecycle.remove(tx, actor, { id: rawId(invitation.id) }, now());
        throw new Error("fails after the delete");
      }),
    ).rejects.toThrow("fails after the delete");
    expect(await statusOf(app, owner, invitation.id)).toBe("PENDING");
  });
});

/**
 * The contract's race rule, on real PostgreSQL: an answer by token counts only if that token is still the
 * invitation's current one when the write commits, so a resend that commits first wins and the old link is dead.
 */
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inject } from "vitest";
import { addressLockKey } from "../../src/invitations/lifecycle.js";
import { errorOf, startApp, type TestApp } from "../helpers/app.js";
import { accept, createOrg, invite, rawId, resend, statusOf } from "../helpers/fixtures.js";

let app: TestApp;
let holder: pg.Client;
beforeAll(async () => {
  app = await startApp();
  holder = new pg.Client({ connectionString: inject("postgresUrl") });
  await holder.connect();
});
afterAll(async () => {
  await holder?.end();
  await app?.close();
});

/** Polls (bounded) until `count` sessions of this database wait for the advisory lock of `key`. */
async function waitForWaiters(key: string, count: number, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { rows } = await holder.query<{ waiting: number }>(
      `SELECT count(*)::int AS waiting FROM pg_locks
        WHERE locktype = 'advisory' AND NOT granted
          AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
          AND ((classid::bigint << 32) | objid::bigint) = hashtextextended($1, 0)`,
      [key],
    );
    if (rows[0]!.waiting === count) return;
    if (Date.now() > deadline) throw new Error(`expected ${count} sessions waiting for the address lock, saw ${rows[0]!.waiting}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe("resend against accept by the old token, on PostgreSQL", () => {
  it("an accept that passed its checks before a resend committed still fails once the resend has committed", async () => {
    expect(app.dbKind).toBe("postgres");
    const owner = await app.user();
    const org = await createOrg(app, owner);
    const invitee = await app.user();
    await app.ok(`{ viewer { id } }`, {}, invitee.token);
    const invitation = await invite(app, owner, org.id, invitee.email);
    const key = addressLockKey(rawId(org.id), invitee.email);

    // Holding the address lock queues both writers in a known order: the resend first, then the accept, whose
    // permission check has already found the (then current) old token.
    await holder.query("BEGIN");
    await holder.query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", [key]);
    const resent = resend(app, owner, invitation.id);
    await waitForWaiters(key, 1);
    const accepted = accept(app, invitee, { token: invitation.token });
    await waitForWaiters(key, 2);
    await holder.query("COMMIT");

    const [resendResult, acceptResult] = await Promise.all([resent, accepted]);
    expect(resendResult.errors).toBeUndefined();
    expect(errorOf(acceptResult)).toMatchObject({ code: "NOT_FOUND" });
    expect(await statusOf(app, owner, invitation.id)).toBe("PENDING");

    const again = await accept(app, invitee, { token: resendResult.data!.resendInvitation.token });
    expect(again.errors).toBeUndefined();
  });

  it("raced freely, a resend and an accept by the old token never both succeed", async () => {
    const owner = await app.user();
    const org = await createOrg(app, owner);
    const pairs = await Promise.all(
      Array.from({ length: 10 }, async () => {
        const invitee = await app.user();
        await app.ok(`{ viewer { id } }`, {}, invitee.token);
        return { invitee, invitation: await invite(app, owner, org.id, invitee.email) };
      }),
    );
    const outcomes = await Promise.all(
      pairs.map(async ({ invitee, invitation }) => {
        const [r, a] = await Promise.all([resend(app, owner, invitation.id), accept(app, invitee, { token: invitation.token })]);
        return { resend: r, accept: a, invitation };
      }),
    );
    for (const { resend: r, accept: a, invitation } of outcomes) {
      const status = await statusOf(app, owner, invitation.id);
      if (a.errors) {
        // The resend won: the old token is unknown now, and the invitation waits for its new one.
        expect(r.errors).toBeUndefined();
        expect(errorOf(a).code).toBe("NOT_FOUND");
        expect(status).toBe("PENDING");
      } else {
        // The accept committed first: the resend finds nothing pending left to resend.
        expect(errorOf(r)).toMatchObject({ code: "CONFLICT", reason: "INVITATION_NOT_PENDING" });
        expect(status).toBe("ACCEPTED");
      }
    }
  });
});

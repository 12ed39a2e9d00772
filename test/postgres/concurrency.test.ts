/**
 * Races decided by the database, on real PostgreSQL (PGlite has a single connection, so nothing runs concurrently
 * there): concurrent accepts, concurrent invites of one address, concurrent first requests of one new user, concurrent
 * invites into the last free seat.
 */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { checkInvariants } from "../../src/db/invariants.js";
import { errorOf, startApp, uniqueEmail, type TestApp } from "../helpers/app.js";
import { rawId } from "../helpers/fixtures.js";

let app: TestApp;
beforeAll(async () => {
  app = await startApp();
});
afterAll(() => app.close());

const CREATE_ORG = /* GraphQL */ `
  mutation ($name: String!) { createOrganization(input: { name: $name }) { organization { id } } }
`;
const INVITE = /* GraphQL */ `
  mutation ($org: ID!, $email: String!) {
    createInvitation(input: { organizationId: $org, email: $email }) { invitation { id } token }
  }
`;
const ACCEPT = /* GraphQL */ `
  mutation ($id: ID!) { acceptInvitation(input: { invitationId: $id }) { membership { id } invitation { status } } }
`;

describe("concurrency on PostgreSQL", () => {
  test("ten concurrent accepts of one invitation give one membership and nine CONFLICTs", async () => {
    expect(app.dbKind).toBe("postgres");
    const owner = await app.user({ name: "Owner" });
    const invitee = await app.user({ name: "Invitee" });
    const org = (await app.ok(CREATE_ORG, { name: "Race Co" }, owner.token)).createOrganization.organization.id;
    const invitation = (await app.ok(INVITE, { org, email: invitee.email }, owner.token)).createInvitation.invitation.id;
    await app.ok(`{ viewer { id } }`, {}, invitee.token); // the user row exists before the race

    const results = await Promise.all(Array.from({ length: 10 }, () => app.gql(ACCEPT, { id: invitation }, invitee.token)));
    const successes = results.filter((r) => !r.errors);
    const conflicts = results.filter((r) => errorOf(r).code === "CONFLICT");
    expect(successes).toHaveLength(1);
    expect(conflicts).toHaveLength(9);
    for (const c of conflicts) expect(errorOf(c).reason).toBe("INVITATION_NOT_PENDING");

    const members = await app.ok(
      `query ($id: ID!) { organization(id: $id) { memberCount members(first: 10) { totalCount } } }`,
      { id: org },
      owner.token,
    );
    expect(members.organization.memberCount).toBe(2);
    expect(members.organization.members.totalCount).toBe(2);
  });

  test("ten concurrent invitations of one address give one invitation and nine ALREADY_INVITED", async () => {
    const owner = await app.user({ name: "Owner" });
    const org = (await app.ok(CREATE_ORG, { name: "Invite Race" }, owner.token)).createOrganization.organization.id;
    const email = `race-${Date.now()}@example.test`;
    const results = await Promise.all(Array.from({ length: 10 }, () => app.gql(INVITE, { org, email }, owner.token)));
    expect(results.filter((r) => !r.errors)).toHaveLength(1);
    const failures = results.filter((r) => r.errors);
    expect(failures).toHaveLength(9);
    for (const f of failures) expect(errorOf(f)).toMatchObject({ code: "CONFLICT", reason: "ALREADY_INVITED" });
    const list = await app.ok(
      `query ($id: ID!, $email: String) { organization(id: $id) { invitations(email: $email) { totalCount } } }`,
      { id: org, email },
      owner.token,
    );
    expect(list.organization.invitations.totalCount).toBe(1);
  });

  test("concurrent first requests of a new user create exactly one user row", async () => {
    const newcomer = await app.user({ name: "Newcomer" });
    const results = await Promise.all(Array.from({ length: 8 }, () => app.ok(`{ viewer { id } }`, {}, newcomer.token)));
    const ids = new Set(results.map((r) => r.viewer.id));
    expect(ids.size).toBe(1);
    expect(await app.db.prisma.user.count({ where: { sub: newcomer.sub } })).toBe(1);
  });

  test("an accept racing a new invitation of the same address never leaves a pending invitation for a member", async () => {
    const owner = await app.user({ name: "Owner" });
    const org = (await app.ok(CREATE_ORG, { name: "Accept vs invite" }, owner.token)).createOrganization.organization.id;
    for (let round = 0; round < 15; round += 1) {
      const invitee = await app.user({ name: `Invitee ${round}` });
      await app.ok(`{ viewer { id } }`, {}, invitee.token);
      const first = (await app.ok(INVITE, { org, email: invitee.email }, owner.token)).createInvitation.invitation.id;
      // Without a lock, the accept could commit between the new invitation's member check and its insert, which the
      // partial unique index no longer stops (the first invitation is not pending any more).
      await Promise.all([app.gql(ACCEPT, { id: first }, invitee.token), app.gql(INVITE, { org, email: invitee.email }, owner.token)]);
      const member = await app.db.prisma.membership.count({ where: { user: { sub: invitee.sub } } });
      const pending = await app.db.prisma.invitation.count({
        where: { email: invitee.email, status: "PENDING", expiresAt: { gt: new Date() }, deletedAt: null },
      });
      expect(member).toBe(1);
      expect({ round, pending }).toEqual({ round, pending: 0 });
    }
  });

  test("ten concurrent invitations of ten addresses into the last free seat give one invitation and nine SEAT_LIMIT_REACHED", async () => {
    const owner = await app.user({ name: "Owner" });
    const org = (await app.ok(CREATE_ORG, { name: "Seat race" }, owner.token)).createOrganization.organization.id;
    await app.ok(
      `mutation ($id: ID!) { updateOrganization(input: { organizationId: $id, seatLimit: 3 }) { organization { seatLimit } } }`,
      { id: org },
      owner.token,
    );
    await app.ok(INVITE, { org, email: uniqueEmail("taken") }, owner.token); // owner + 1 pending: one seat left
    // Requests reach their transactions one by one here (each spends longer in JavaScript than in the database), so
    // another transaction holds back every write to invitations until all ten wait: then they meet at the seat check at
    // once. Without the organization's row lock each would count the one free seat and take it.
    const blocker = await app.db.session();
    const watcher = await app.db.session();
    let results: Awaited<ReturnType<typeof app.gql>>[] = [];
    try {
      await blocker.exec("BEGIN");
      await blocker.exec(`LOCK TABLE "Invitation" IN SHARE MODE`);
      let settled = false;
      const race = Promise.all(Array.from({ length: 10 }, (_, i) => app.gql(INVITE, { org, email: uniqueEmail(`seat${i}`) }, owner.token))).finally(
        () => (settled = true),
      );
      // pg_stat_activity is read once per transaction: the blocker's own would never see anyone arrive.
      const waiting = async () =>
        Number(
          (
            await watcher.query<{ n: string }>(
              `SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND (query LIKE '%seatLimit%' OR query LIKE '%seatsUsed%')`,
            )
          )[0]!.n,
        );
      while (!settled && (await waiting()) < 10) await new Promise((resolve) => setTimeout(resolve, 10));
      await blocker.exec("COMMIT");
      results = await race;
    } finally {
      await blocker.release();
      await watcher.release();
    }
    expect(results.filter((r) => !r.errors), JSON.stringify(results.map((r) => r.errors ?? "ok"))).toHaveLength(1);
    const failures = results.filter((r) => r.errors);
    expect(failures).toHaveLength(9);
    for (const f of failures) expect(errorOf(f)).toMatchObject({ code: "CONFLICT", reason: "SEAT_LIMIT_REACHED" });
    expect(await app.db.prisma.invitation.count({ where: { organizationId: rawId(org), status: "PENDING" } })).toBe(2);
  });

  test("concurrent bulk and single invitations never take more seats than the limit, and overlapping bulks do not deadlock", async () => {
    const owner = await app.user({ name: "Owner" });
    const org = (await app.ok(CREATE_ORG, { name: "Bulk seat race" }, owner.token)).createOrganization.organization.id;
    await app.ok(
      `mutation ($id: ID!) { updateOrganization(input: { organizationId: $id, seatLimit: 12 }) { organization { seatLimit } } }`,
      { id: org },
      owner.token,
    );
    const shared = Array.from({ length: 8 }, (_, i) => uniqueEmail(`shared${i}`));
    const BULK = `mutation ($org: ID!, $list: [CreateInvitationsItemInput!]!) {
      createInvitations(input: { organizationId: $org, invitations: $list }) { results { invitation { id } error { reason } } }
    }`;
    // Each bulk lists the shared addresses in its own order, plus some of its own.
    const bulks = Array.from({ length: 4 }, (_, b) =>
      app.gql(BULK, { org, list: (b % 2 ? [...shared].reverse() : shared).concat([uniqueEmail(`own${b}`)]).map((email) => ({ email })) }, owner.token),
    );
    const singles = Array.from({ length: 6 }, (_, i) => app.gql(INVITE, { org, email: shared[i % shared.length]! }, owner.token));
    const results = await Promise.all([...bulks, ...singles]);
    for (const r of results.slice(0, 4)) expect(r.errors).toBeUndefined();
    const pending = await app.db.prisma.invitation.count({ where: { organizationId: rawId(org), status: "PENDING" } });
    // 12 addresses asked for 11 free seats: every seat is taken, none twice.
    expect(pending).toBe(11);
    const session = await app.db.session();
    try {
      const broken = (await checkInvariants(session, { organizationIds: [rawId(org)] })).filter((r) => r.violations > 0);
      expect(broken).toEqual([]);
    } finally {
      await session.release();
    }
  });
});

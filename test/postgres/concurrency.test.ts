/**
 * Races decided by the database, on real PostgreSQL (PGlite has a single connection, so nothing runs concurrently
 * there): concurrent accepts, concurrent invites of one address, concurrent first requests of one new user.
 */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { errorOf, startApp, type TestApp } from "../helpers/app.js";

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
});


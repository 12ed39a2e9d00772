/**
 * "An organization always keeps at least one owner", under concurrency, on real PostgreSQL (PGlite serves one
 * connection, so nothing runs at once there): two owners demoting, removing or leaving at the same instant leave
 * one owner, because each of these mutations locks the organization's row before it counts the owners.
 */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { errorOf, startApp, type TestApp, type TestUser } from "../helpers/app.js";
import { addMember, createOrg, type TestOrg } from "../helpers/fixtures.js";

let app: TestApp;
beforeAll(async () => {
  app = await startApp();
});
afterAll(() => app.close());

const UPDATE = /* GraphQL */ `mutation ($id: ID!, $role: ID!) { updateMembership(input: { membershipId: $id, roleId: $role }) { membership { id } } }`;
const REMOVE = /* GraphQL */ `mutation ($id: ID!) { removeMember(input: { membershipId: $id }) { removedMembershipId } }`;
const LEAVE = /* GraphQL */ `mutation ($org: ID!) { leaveOrganization(input: { organizationId: $org }) { removedMembershipId } }`;

async function membershipOf(user: TestUser, org: TestOrg): Promise<string> {
  const data = await app.ok(`{ viewer { memberships(first: 100) { edges { node { id organization { id } } } } } }`, {}, user.token);
  return data.viewer.memberships.edges.find((e: any) => e.node.organization.id === org.id).node.id;
}

async function ownerCount(org: TestOrg): Promise<number> {
  const id = Buffer.from(org.id, "base64url").toString().split(":")[1]!;
  return app.db.prisma.membership.count({ where: { organizationId: id, role: { key: "owner" } } });
}

type Move = (self: TestUser, other: TestUser, ids: { self: string; other: string }, org: TestOrg) => Promise<unknown>;

const moves: Record<string, Move> = {
  "demotes the other": (self, _o, ids, org) => app.gql(UPDATE, { id: ids.other, role: org.roles.admin }, self.token),
  "removes the other": (self, _o, ids) => app.gql(REMOVE, { id: ids.other }, self.token),
  "demotes themself": (self, _o, ids, org) => app.gql(UPDATE, { id: ids.self, role: org.roles.member }, self.token),
  "leaves": (self, _o, _ids, org) => app.gql(LEAVE, { org: org.id }, self.token),
};

describe("the last owner under concurrency (PostgreSQL)", () => {
  const pairs = [
    ["demotes the other", "demotes the other"],
    ["removes the other", "removes the other"],
    ["demotes themself", "leaves"],
    ["leaves", "leaves"],
    ["removes the other", "demotes themself"],
  ] as const;

  test.each(pairs)("two owners at once: one %s, the other %s; one owner is left, every round", async (first, second) => {
    expect(app.dbKind).toBe("postgres");
    for (let round = 0; round < 6; round += 1) {
      const a = await app.user({ name: "Owner A" });
      const org = await createOrg(app, a);
      const b = await addMember(app, org, a, "owner");
      const ids = { a: await membershipOf(a, org), b: await membershipOf(b, org) };
      const results = (await Promise.all([
        moves[first]!(a, b, { self: ids.a, other: ids.b }, org),
        moves[second]!(b, a, { self: ids.b, other: ids.a }, org),
      ])) as { errors?: unknown[] }[];
      const refused = results.filter((r) => r.errors);
      expect({ round, owners: await ownerCount(org) }).toEqual({ round, owners: 1 });
      // A refusal is LAST_OWNER, or, when the other change committed before this one's permission check, NOT_FOUND
      // (its target or its author was removed) or FORBIDDEN (its author was demoted). Both may succeed only where that
      // leaves an owner (B steps down, then A removes B).
      for (const r of refused) {
        const { code, reason } = errorOf(r as never);
        expect(reason === "LAST_OWNER" || code === "NOT_FOUND" || code === "FORBIDDEN", JSON.stringify(r)).toBe(true);
      }
    }
  });
});

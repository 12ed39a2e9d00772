/**
 * `totalCount` and the page come from one snapshot (one statement: src/schema/connections.ts), on real PostgreSQL
 * where writers and readers run at once: while invitations are created and revoked concurrently, no reader of
 * `pendingInvitations` or `organization.invitations(status: [PENDING])` sees fewer in `totalCount` than on the page
 * (with the count as a statement of its own, a revoke landing between the two gave `totalCount: 0` beside an edge).
 */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { errorOf, startApp, type TestApp } from "../helpers/app.js";

let app: TestApp;
beforeAll(async () => {
  app = await startApp();
});
afterAll(() => app.close());

const CREATE_ORG = /* GraphQL */ `mutation ($name: String!) { createOrganization(input: { name: $name }) { organization { id } } }`;
const INVITE = /* GraphQL */ `mutation ($org: ID!, $email: String!) { createInvitation(input: { organizationId: $org, email: $email }) { invitation { id } } }`;
const REVOKE = /* GraphQL */ `mutation ($id: ID!) { revokeInvitation(input: { invitationId: $id }) { invitation { status } } }`;
const PENDING = /* GraphQL */ `{ pendingInvitations(first: 5) { totalCount pageInfo { hasNextPage } edges { node { id } } } }`;
const ORG_PENDING = /* GraphQL */ `query ($org: ID!) { organization(id: $org) { invitations(first: 5, status: [PENDING]) { totalCount pageInfo { hasNextPage } edges { node { id } } } } }`;

interface Page {
  totalCount: number;
  pageInfo: { hasNextPage: boolean };
  edges: unknown[];
}

describe("a list's totalCount and its page under concurrent writes (PostgreSQL)", () => {
  test("totalCount is never below the page's length, and above it when there is a next page", async () => {
    expect(app.dbKind).toBe("postgres");
    const owner = await app.user({ name: "Owner" });
    const invitee = await app.user({ name: "Invitee" });
    const others = ["snap-a@example.test", "snap-b@example.test"];
    const orgs: string[] = [];
    for (let i = 0; i < 6; i += 1) orgs.push((await app.ok(CREATE_ORG, { name: `Snapshot ${i}` }, owner.token)).createOrganization.organization.id);

    // Writers: each (organization, address) pair invited and revoked over and over, so rows keep entering and
    // leaving both lists.
    let writing = true;
    const pairs = orgs.flatMap((org, i) => (i === 0 ? [invitee.email, ...others] : [invitee.email]).map((email) => ({ org, email })));
    const writers = pairs.map(async ({ org, email }) => {
      for (let round = 0; round < 8; round += 1) {
        const created = await app.gql(INVITE, { org, email }, owner.token);
        const id = (created.data as { createInvitation?: { invitation: { id: string } } } | null)?.createInvitation?.invitation.id;
        if (id) await app.gql(REVOKE, { id }, owner.token);
      }
    });
    const done = Promise.all(writers).finally(() => {
      writing = false;
    });

    const violations: string[] = [];
    let reads = 0;
    const check = (label: string, page: Page) => {
      reads += 1;
      if (page.totalCount < page.edges.length) violations.push(`${label}: totalCount ${page.totalCount} beside ${page.edges.length} edges`);
      if (page.pageInfo.hasNextPage && page.totalCount <= page.edges.length) violations.push(`${label}: a next page, yet totalCount ${page.totalCount}`);
    };
    // A request that ran out of time on a busy machine (SERVICE_UNAVAILABLE) tells nothing either way; any other
    // error fails the test.
    const read = async (query: string, variables: Record<string, unknown>, token: string) => {
      const result = await app.gql(query, variables, token);
      if (result.errors?.length && errorOf(result).code === "SERVICE_UNAVAILABLE") return null;
      if (result.errors?.length) throw new Error(JSON.stringify(result.errors));
      return result.data as any;
    };
    const readers = Array.from({ length: 4 }, async (_, i) => {
      while (writing) {
        if (i % 2 === 0) {
          const data = await read(PENDING, {}, invitee.token);
          if (data) check("pendingInvitations", data.pendingInvitations);
        } else {
          const data = await read(ORG_PENDING, { org: orgs[0] }, owner.token);
          if (data) check("organization.invitations", data.organization.invitations);
        }
      }
    });
    await Promise.all([done, ...readers]);

    expect(reads).toBeGreaterThan(20);
    expect(violations).toEqual([]);
  });
});

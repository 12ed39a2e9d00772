/**
 * A list nested in a list's nodes (`invitations { node { organization { invitations } } }`) names the same list for
 * every node: it is read once per request, so the admitted nested documents (their cost counts the inner lists once
 * per node, not the rows they hold) cost what one page does, on PGlite too.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { startApp, type TestApp } from "./helpers/app.js";
import { createOrg, invite } from "./helpers/fixtures.js";

let app: TestApp;
beforeAll(async () => {
  app = await startApp();
});
afterAll(() => app?.close());

it("the same nested list under every node of a page is read once", async () => {
  const owner = await app.user();
  const org = await createOrg(app, owner);
  for (let i = 0; i < 8; i += 1) await invite(app, owner, org.id, `nested-${i}-${Date.now()}@example.test`);
  const one = `query ($id: ID!) { organization(id: $id) { invitations(first: 8) { totalCount edges { node { id email } } } } }`;
  const nested = `query ($id: ID!) { organization(id: $id) { invitations(first: 8) { edges { node { id
    organization { invitations(first: 8) { totalCount edges { node { id email } } } } } } } } }`;
  await app.ok(one, { id: org.id }, owner.token);
  const single = await app.countQueries(() => app.ok(one, { id: org.id }, owner.token));
  let data: any;
  const twoLevels = await app.countQueries(async () => {
    data = await app.ok(nested, { id: org.id }, owner.token);
  });
  const outer = data.organization.invitations.edges;
  expect(outer).toHaveLength(8);
  // Every node answers the full inner list...
  for (const edge of outer) {
    expect(edge.node.organization.invitations.totalCount).toBe(8);
    expect(edge.node.organization.invitations.edges.map((e: any) => e.node.id)).toEqual(outer.map((e: any) => e.node.id));
  }
  // ...from one read of it: the nested document costs about two pages, not nine.
  expect(twoLevels.count, twoLevels.statements.join("\n")).toBeLessThanOrEqual(2 * single.count + 1);
});

it("a list read before a mutation is read again after it, within one document", async () => {
  const owner = await app.user();
  const org = await createOrg(app, owner);
  const email = `after-${Date.now()}@example.test`;
  const data = await app.ok(
    `mutation ($input: CreateInvitationInput!) {
       createInvitation(input: $input) { invitation { organization { invitations(first: 5) { totalCount } } } }
     }`,
    { input: { organizationId: org.id, email } },
    owner.token,
  );
  expect(data.createInvitation.invitation.organization.invitations.totalCount).toBe(1);
});

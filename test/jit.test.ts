/**
 * Queries asked for again run compiled by graphql-jit (src/plugins/jit.ts). The first run of a document is the
 * standard executor's, so every document below is asked twice and the two answers must be the same, errors
 * included: lists with nested relations, counts, fragments, aliases, directives, the Node interface, enums and
 * DateTime values, null fields, a hidden field answered with an error beside its data, and introspection. Bad
 * variables keep the executor's errors on every run, and the deadline stops a compiled query's object fields.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { jitStats } from "../src/plugins/jit.js";
import { protectedSchema } from "../src/server.js";
import { ServiceUnavailableError } from "../src/errors.js";
import { startApp, type TestApp, type TestUser } from "./helpers/app.js";
import { accept, addMember, createGroup, createOrg, invite, revoke, type TestOrg } from "./helpers/fixtures.js";

let app: TestApp;
let owner: TestUser;
let member: TestUser;
let invitee: TestUser;
let org: TestOrg;
beforeAll(async () => {
  app = await startApp();
  owner = await app.user({ name: "Jit Owner" });
  invitee = await app.user({ name: "Jit Invitee" });
  org = await createOrg(app, owner);
  member = await addMember(app, org, owner, "member", { name: "Jit Member" });
  const group = await createGroup(app, owner, org.id, "Alpha");
  await invite(app, owner, org.id, invitee.email, { groupIds: [group], metadata: { team: "x", n: 1 } });
  const revoked = await invite(app, owner, org.id, "revoked@example.com");
  await revoke(app, owner, revoked.id);
  const other = await createOrg(app, owner);
  const joined = await invite(app, owner, other.id, invitee.email);
  await accept(app, invitee, { invitationId: joined.id });
});
afterAll(() => app?.close());

const documents = (): Array<[string, string, Record<string, unknown>, () => TestUser]> => [
  [
    "an admin's page with relations, counts, cursors and DateTime values",
    `query Page($id: ID!, $first: Int) { organization(id: $id) { id name memberCount invitations(first: $first) { totalCount
       pageInfo { hasNextPage endCursor } edges { cursor node { id email status createdAt expiresAt metadata role { key permissions }
       invitedBy { name } groups { name } organization { slug } } } } } }`,
    { id: org.id, first: 10 },
    () => owner,
  ],
  [
    "fragments, aliases and directives",
    `query Shapes($id: ID!, $withRoles: Boolean!) { org: organization(id: $id) { ...Parts roles @include(if: $withRoles) { key }
       groups @skip(if: $withRoles) { name } } viewer { __typename ... on User { name } } }
     fragment Parts on Organization { __typename slug first: invitations(first: 1) { edges { node { email } } } all: invitations(status: [REVOKED]) { totalCount } }`,
    { id: org.id, withRoles: true },
    () => owner,
  ],
  ["the Node interface", `query N($id: ID!) { node(id: $id) { __typename id ... on Organization { name } } }`, { id: org.id }, () => owner],
  [
    "the invitee's lists and a member's view (hidden email answered null)",
    `{ viewer { email pendingInvitations { totalCount edges { node { id organization { name memberCount } } } }
       memberships(first: 5) { edges { node { role { key } organization { name viewerMembership { id } } user { email } } } } } }`,
    {},
    () => invitee,
  ],
  [
    "an error beside data (a field the member may not read)",
    `query E($id: ID!) { organization(id: $id) { name invitations(first: 1) { totalCount } } viewer { name } }`,
    { id: org.id },
    () => member,
  ],
  ["introspection", `{ __type(name: "InvitationStatus") { name enumValues { name } } __schema { queryType { name } } }`, {}, () => owner],
];

describe("a query asked for again", () => {
  it("answers as the standard executor answered it the first time", async () => {
    for (const [what, query, variables, viewer] of documents()) {
      const before = jitStats.compiled;
      const first = await app.gql(query, variables, viewer().token);
      const second = await app.gql(query, variables, viewer().token);
      const third = await app.gql(query, variables, viewer().token);
      expect(jitStats.compiled, what).toBe(before + 1);
      expect(second, what).toEqual(first);
      expect(third, what).toEqual(first);
    }
  });

  it("answers bad variables with the executor's errors every time", async () => {
    const query = `query V($s: [InvitationStatus!], $first: Int) { organization(id: "${org.id}") { invitations(status: $s, first: $first) { totalCount } } }`;
    const answers = [];
    for (let i = 0; i < 3; i += 1) answers.push(await app.gql(query, { s: ["PENDNG"], first: 1 }, owner.token));
    expect(answers[0]!.errors?.[0]?.extensions?.code).toBe("BAD_REQUEST");
    expect(answers[1]).toEqual(answers[0]);
    expect(answers[2]).toEqual(answers[0]);
    // Good variables on the same document still run (compiled by now).
    expect((await app.ok(query, { s: ["PENDING"], first: 1 }, owner.token)).organization.invitations.totalCount).toBe(1);
  });

  it("mutations never run compiled", async () => {
    const before = jitStats.compiled;
    const mutation = `mutation C($input: CreateOrganizationInput!) { createOrganization(input: $input) { organization { name } } }`;
    for (let i = 0; i < 3; i += 1) await app.ok(mutation, { input: { name: `Jit ${i}` } }, owner.token);
    expect(jitStats.compiled).toBe(before);
  });
});

describe("with GRAPHQL_JIT=false", () => {
  it("nothing is compiled", async () => {
    const plain = await startApp({ env: { GRAPHQL_JIT: "false" } });
    try {
      const before = jitStats.compiled;
      for (let i = 0; i < 3; i += 1) await plain.ok(`{ __typename }`, {}, null);
      expect(jitStats.compiled).toBe(before);
    } finally {
      await plain.close();
    }
  });
});

describe("past the deadline", () => {
  it("object fields throw instead of starting; leaf fields still read their parent", () => {
    const controller = new AbortController();
    const reason = new ServiceUnavailableError("late");
    controller.abort(reason);
    const ctx = { executionSignal: controller.signal };
    const viewer = protectedSchema.getQueryType()!.getFields().viewer!;
    expect(() => viewer.resolve!({}, {}, ctx, {} as never)).toThrow(reason);
    const invitation = protectedSchema.getType("Invitation") as import("graphql").GraphQLObjectType;
    const status = invitation.getFields().status!;
    expect(status.resolve).toBeTypeOf("function");
    expect(status.resolve!({ status: "PENDING", expiresAt: new Date(Date.now() + 60_000) }, {}, ctx, {} as never)).toBe("PENDING");
  });
});

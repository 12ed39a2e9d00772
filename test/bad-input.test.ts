/**
 * Every bad input is a client error: NUL characters and unpaired surrogates anywhere (arguments, input fields,
 * variables, JSON keys and values, JWT claims), over-deep metadata (10^5 levels included), explicit nulls for
 * defaulted variables, over-long lists, impossible dates and wrongly typed variables. None is INTERNAL_SERVER_ERROR,
 * and a refused mutation writes nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signDevToken } from "../src/auth/token.js";
import { startApp, TEST_SECRET, uniqueEmail, type TestApp, type TestUser } from "./helpers/app.js";
import { CREATE_INVITATION, CREATE_ORGANIZATION, createOrg, expectError, rawId, tryInvite, type TestOrg } from "./helpers/fixtures.js";

let app: TestApp;
let owner: TestUser;
let org: TestOrg;
beforeAll(async () => {
  // Some inputs here (10^5 nested levels, 10,000 IDs) are larger than the default MAX_BODY_BYTES, which would refuse
  // them with 413 before this layer is reached (test/body-limit.test.ts); these tests are about the layer itself.
  app = await startApp({ env: { MAX_BODY_BYTES: "10000000" } });
  owner = await app.user({ name: "Owner" });
  org = await createOrg(app, owner);
});
afterAll(async () => {
  await app?.close();
});

const invitationCount = () => app.db.prisma.invitation.count({ where: { organizationId: rawId(org.id) } });

async function post(body: string, token?: string): Promise<{ status: number; body: any }> {
  const headers: Record<string, string> = { "content-type": "application/json", accept: "application/graphql-response+json" };
  if (token) headers.authorization = `Bearer ${token}`;
  const response = await app.fetch("/graphql", { method: "POST", headers, body });
  return { status: response.status, body: await response.json() };
}

const BAD_TEXT: Array<[string, string]> = [
  ["a NUL character", "Ac\u0000me"],
  ["an unpaired high surrogate", "Ac\uD800me"],
  ["an unpaired low surrogate", "\uDC00Acme"],
];

describe("unstorable text", () => {
  it.each(BAD_TEXT)("%s in a variable's input field is BAD_USER_INPUT naming the field", async (_what, text) => {
    const result = await app.gql(CREATE_ORGANIZATION, { input: { name: text } }, owner.token);
    expectError(result, { code: "BAD_USER_INPUT", field: "name" });
  });

  it("a NUL written as an escape in the document's literal is BAD_USER_INPUT", async () => {
    const result = await app.gql(`mutation { createOrganization(input: { name: "a\\u0000b" }) { organization { id } } }`, {}, owner.token);
    expectError(result, { code: "BAD_USER_INPUT", field: "name" });
  });

  it.each([
    ["slug", { name: "Fine", slug: "a\u0000b" }],
    ["logoUrl", { name: "Fine", logoUrl: "https://example.com/\uD800.png" }],
  ])("in %s", async (field, input) => {
    expectError(await app.gql(CREATE_ORGANIZATION, { input }, owner.token), { code: "BAD_USER_INPUT", field });
  });

  it.each([
    ["a value", { note: "x\u0000y" }],
    ["a key", { "no\u0000te": 1 }],
    ["a nested value", { a: [{ b: "\uDFFF" }] }],
  ])("in metadata (%s) is BAD_USER_INPUT and nothing is written", async (_what, metadata) => {
    const before = await invitationCount();
    expectError(await tryInvite(app, owner, org.id, uniqueEmail(), { metadata }), { code: "BAD_USER_INPUT", field: "metadata" });
    expect(await invitationCount()).toBe(before);
  });

  it("in a metadata literal", async () => {
    const result = await app.gql(
      `mutation ($org: ID!) { createInvitation(input: { organizationId: $org, email: "lit@example.test", metadata: { k: "\\u0000" } }) { token } }`,
      { org: org.id },
      owner.token,
    );
    expectError(result, { code: "BAD_USER_INPUT", field: "metadata" });
  });

  it("in an ID, a token, an email filter and a nested connection's argument", async () => {
    expectError(await app.gql(`query ($id: ID!) { organization(id: $id) { id } }`, { id: "\u0000" }, owner.token), { code: "BAD_USER_INPUT", field: "id" });
    expectError(
      await app.gql(`mutation ($t: String) { acceptInvitation(input: { token: $t }) { invitation { id } } }`, { t: "inv_\uD800" }, owner.token),
      { code: "BAD_USER_INPUT", field: "token" },
    );
    expectError(
      await app.gql(`query ($id: ID!, $e: String) { organization(id: $id) { invitations(email: $e) { totalCount } } }`, { id: org.id, e: "a\u0000@example.test" }, owner.token),
      { code: "BAD_USER_INPUT", field: "email" },
    );
  });

  it("the same document is checked again with each request's variables (the walk over it is remembered)", async () => {
    const query = `query Check($id: ID!, $e: String) { organization(id: $id) { invitations(email: $e) { totalCount } } }`;
    expect((await app.gql(query, { id: org.id, e: "a@example.test" }, owner.token)).errors).toBeUndefined();
    expectError(await app.gql(query, { id: org.id, e: "a\u0000@example.test" }, owner.token), { code: "BAD_USER_INPUT", field: "email" });
    expectError(await app.gql(query, { id: "\uD800", e: "a@example.test" }, owner.token), { code: "BAD_USER_INPUT", field: "id" });
    expect((await app.gql(query, { id: org.id, e: "b@example.test" }, owner.token)).errors).toBeUndefined();
  });

  it("well-formed unicode (emoji, CJK, combining marks) is accepted as it is", async () => {
    const name = "Équipe 🚀 東京 a\u0301";
    const data = await app.ok(CREATE_ORGANIZATION, { input: { name } }, owner.token);
    expect(data.createOrganization.organization.name).toBe(name);
  });

  it.each([
    ["sub", { sub: "test|a\u0000b" }],
    ["email", { email: "a\uD800@example.test" }],
    ["name", { name: "Na\u0000me" }],
  ])("in a JWT claim (%s) is UNAUTHENTICATED", async (_claim, override) => {
    const token = await signDevToken(TEST_SECRET, { sub: "test|claims", email: uniqueEmail(), ...override });
    const result = await app.gql(`{ viewer { id } }`, {}, token);
    expectError(result, { code: "UNAUTHENTICATED" });
  });
});

describe("over-deep metadata", () => {
  const nested = (depth: number) => `${'{"a":'.repeat(depth)}1${"}".repeat(depth)}`;

  it("8 levels are accepted, 9 are BAD_USER_INPUT", async () => {
    const ok = await tryInvite(app, owner, org.id, uniqueEmail(), { metadata: JSON.parse(nested(8)) });
    expect(ok.errors).toBeUndefined();
    expectError(await tryInvite(app, owner, org.id, uniqueEmail(), { metadata: JSON.parse(nested(9)) }), { code: "BAD_USER_INPUT", field: "metadata" });
    expectError(await tryInvite(app, owner, org.id, uniqueEmail(), { metadata: { a: [[[[[[[[1]]]]]]]] } }), {
      code: "BAD_USER_INPUT",
      field: "metadata",
    });
  });

  it("10^5 levels in a variable are BAD_USER_INPUT (HTTP 400), and the server stays healthy", async () => {
    const before = await invitationCount();
    // Arrays nest in 2 bytes a level, so 10^5 levels fit under the body limit.
    const deep = `{"a":${"[".repeat(100_000)}${"]".repeat(100_000)}}`;
    const body = `{"query":${JSON.stringify(CREATE_INVITATION)},"variables":{"input":{"organizationId":"${org.id}","email":"${uniqueEmail()}","metadata":${deep}}}}`;
    const result = await post(body, owner.token);
    expect(result.status).toBe(400);
    expect(result.body.errors[0].extensions).toMatchObject({ code: "BAD_USER_INPUT", field: "metadata" });
    expect(await invitationCount()).toBe(before);
    expect((await app.fetch("/health")).status).toBe(200);
  });
});

describe("explicit null for a variable with a default", () => {
  it("a nullable argument takes the null (the spec's rule: an explicit null overrides the default)", async () => {
    const data = await app.ok(`query ($first: Int = 5) { pendingInvitations(first: $first) { totalCount } }`, { first: null }, owner.token);
    expect(data.pendingInvitations.totalCount).toBe(0);
    const nested = await app.ok(
      `query ($id: ID!, $s: [InvitationStatus!] = [PENDING], $first: Int = 3) { organization(id: $id) { invitations(status: $s, first: $first) { totalCount } } }`,
      { id: org.id, s: null, first: null },
      owner.token,
    );
    expect(typeof nested.organization.invitations.totalCount).toBe("number");
  });

  it("a non-null variable is a request error (BAD_REQUEST), never internal", async () => {
    const result = await app.gql(`query ($id: ID! = "x") { organization(id: $id) { id } }`, { id: null }, owner.token);
    expectError(result, { code: "BAD_REQUEST" });
  });

  it("nullable input fields given null in a mutation", async () => {
    const result = await app.gql(
      CREATE_INVITATION,
      { input: { organizationId: org.id, email: uniqueEmail(), roleId: null, groupIds: null, metadata: null, expiresAt: null } },
      owner.token,
    );
    expect(result.errors).toBeUndefined();
  });
});

describe("over-long lists", () => {
  it("a status filter of 101 items is BAD_USER_INPUT", async () => {
    const result = await app.gql(
      `query ($id: ID!, $s: [InvitationStatus!]) { organization(id: $id) { invitations(status: $s) { totalCount } } }`,
      { id: org.id, s: Array(101).fill("PENDING") },
      owner.token,
    );
    expectError(result, { code: "BAD_USER_INPUT", field: "status" });
  });

  it("groupIds of 1,000 items is BAD_USER_INPUT and nothing is written", async () => {
    const before = await invitationCount();
    expectError(await tryInvite(app, owner, org.id, uniqueEmail(), { groupIds: Array(1_000).fill(org.id) }), { code: "BAD_USER_INPUT", field: "groupIds" });
    expect(await invitationCount()).toBe(before);
  });
});

describe("dates", () => {
  it.each(["2026-02-31T00:00:00Z", "2027-02-29T12:00:00Z", "2026-13-01T00:00:00Z", "2026-12-01T24:00:00Z", "2026-12-01T12:60:00Z", "2026-12-01T12:00:00+25:00"])(
    "%s is refused, not rolled over",
    async (expiresAt) => {
      const before = await invitationCount();
      const result = await tryInvite(app, owner, org.id, uniqueEmail(), { expiresAt });
      expectError(result, { code: "BAD_REQUEST" });
      expect(await invitationCount()).toBe(before);
    },
  );

  it("an impossible date written in the document is a validation error", async () => {
    const result = await app.gql(
      `mutation ($org: ID!) { createInvitation(input: { organizationId: $org, email: "d@example.test", expiresAt: "2026-04-31T00:00:00Z" }) { token } }`,
      { org: org.id },
      owner.token,
    );
    expectError(result, { code: "GRAPHQL_VALIDATION_FAILED" });
  });

  it("a leap day in a leap year is a real date", async () => {
    const result = await tryInvite(app, owner, org.id, uniqueEmail(), { expiresAt: "2028-02-29T00:00:00Z" });
    // Valid as a date; refused only for being more than 30 days ahead.
    expectError(result, { code: "BAD_USER_INPUT", field: "expiresAt" });
  });
});

describe("wrong types in variables", () => {
  it.each([
    ["a number for a string", { input: { name: 5 } }],
    ["a string for an input object", { input: "x" }],
    ["an object for a string", { input: { name: { a: 1 } } }],
    ["a list for a string", { input: { name: ["a"] } }],
  ])("%s is BAD_REQUEST (HTTP 400)", async (_what, variables) => {
    const result = await post(JSON.stringify({ query: CREATE_ORGANIZATION, variables }), owner.token);
    expect(result.status).toBe(400);
    expect(result.body.errors[0].extensions.code).toBe("BAD_REQUEST");
  });

  it("variables that are not an object are BAD_REQUEST", async () => {
    const result = await post(JSON.stringify({ query: CREATE_ORGANIZATION, variables: [1] }), owner.token);
    expect(result.status).toBe(400);
    expect(result.body.errors[0].extensions.code).toBe("BAD_REQUEST");
  });
});

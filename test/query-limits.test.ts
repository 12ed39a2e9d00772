/**
 * Query limits through the real server: each limit at and just over its boundary, the issue's nested query refused
 * before any database work, the error shape and status, and introspection left alone.
 */
import { getIntrospectionQuery } from "graphql";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startApp, uniqueEmail, type TestApp, type TestUser } from "./helpers/app.js";
import { createOrg, invite, type TestOrg } from "./helpers/fixtures.js";

let app: TestApp;
let owner: TestUser;
let org: TestOrg;
beforeAll(async () => {
  app = await startApp();
  owner = await app.user({ name: "Limits" });
  org = await createOrg(app, owner);
  for (let i = 0; i < 100; i += 1) await invite(app, owner, org.id, uniqueEmail("limits"));
}, 120_000);
afterAll(async () => {
  await app?.close();
});

const GRAPHQL_RESPONSE = "application/graphql-response+json";

async function post(query: string, variables?: Record<string, unknown>, options: { token?: string; accept?: string } = {}) {
  const headers: Record<string, string> = { "content-type": "application/json", accept: options.accept ?? GRAPHQL_RESPONSE };
  headers.authorization = `Bearer ${options.token ?? owner.token}`;
  const started = performance.now();
  const response = await app.fetch("/graphql", { method: "POST", headers, body: JSON.stringify({ query, variables }) });
  const body = (await response.json()) as { data?: unknown; errors?: Array<{ message: string; extensions?: Record<string, unknown> }> };
  return { status: response.status, body, ms: performance.now() - started };
}

const reasons = (body: { errors?: Array<{ extensions?: Record<string, unknown> }> }) => (body.errors ?? []).map((e) => e.extensions?.reason);
const LIMIT_REASONS = ["MAX_DEPTH", "MAX_ALIASES", "MAX_TOKENS", "MAX_DIRECTIVES", "MAX_COST"];

/** No limit refused it (it may still fail for other reasons, such as NOT_FOUND). */
function expectAdmitted(result: Awaited<ReturnType<typeof post>>) {
  expect(reasons(result.body).filter((r) => LIMIT_REASONS.includes(String(r)))).toEqual([]);
  expect(result.status).toBe(200);
}

function expectRefused(result: Awaited<ReturnType<typeof post>>, reason: string, code = "GRAPHQL_VALIDATION_FAILED") {
  expect(result.status).toBe(400);
  expect(result.body.data).toBeUndefined();
  expect(result.body.errors).toHaveLength(1);
  expect(result.body.errors![0]!.extensions).toMatchObject({ code, reason });
}

/** The issue's query: organization → invitations(first: 100) → node → organization → …, `levels` times. */
function nestedInvitations(organizationId: string, levels: number, leaf = "id email"): string {
  let inner = leaf;
  for (let i = 0; i < levels; i += 1) inner = `organization { id invitations(first: 100) { edges { node { ${inner} } } } }`;
  return `{ invitation: organization(id: "${organizationId}") { ${inner.slice("organization {".length, -1)} } }`;
}

describe("the nested query of the issue", () => {
  it("is refused in milliseconds, without a single SQL statement, and the server keeps serving", async () => {
    const fresh = await app.user({ name: "Nested" });
    const cases: Array<[string, string]> = [
      // Three levels and more are past the depth limit before their cost is even looked at.
      [nestedInvitations(org.id, 3), "MAX_DEPTH"],
      [nestedInvitations(org.id, 6), "MAX_DEPTH"],
      // Two levels with an object beneath: 2 + 100 × (1 + 1 + 100) = 10,202.
      [nestedInvitations(org.id, 2, "role { id }"), "MAX_COST"],
    ];
    for (const [query, reason] of cases) {
      const { statements } = await app.countQueries(async () => {
        const result = await post(query, undefined, { token: fresh.token });
        expectRefused(result, reason);
        expect(result.ms).toBeLessThan(1_000);
      });
      // Not even the new user's row: the document was refused before the context was built.
      expect(statements).toEqual([]);
    }
    const after = await post(`{ organization(id: "${org.id}") { invitations(first: 100) { totalCount edges { node { id } } } } }`);
    expect(after.body.errors).toBeUndefined();
    expect((after.body.data as any).organization.invitations.edges).toHaveLength(100);
    expect((await app.fetch("/health")).status).toBe(200);
  });

  it("one level of it is admitted and answers", async () => {
    const result = await post(nestedInvitations(org.id, 1, "role { id }"));
    expect(result.body.errors).toBeUndefined();
    expect((result.body.data as any).invitation.invitations.edges).toHaveLength(100);
  });
});

/** A chain of `depth` fields from viewer down, the last one a scalar. */
function chain(depth: number): string {
  const fields = ["viewer", "memberships", "edges", "node"];
  while (fields.length < depth - 1) fields.push(fields.length % 2 === 0 ? "organization" : "viewerMembership");
  const leafOf: Record<string, string> = { viewer: "id", memberships: "totalCount", edges: "cursor", node: "id", organization: "id", viewerMembership: "id" };
  const path = fields.slice(0, depth - 1);
  return `{ ${path.map((f) => `${f} {`).join(" ")} ${leafOf[path.at(-1)!]} ${"}".repeat(path.length)} }`;
}

describe("each limit at and over its boundary", () => {
  it("depth 12 (leaves and the root field included)", async () => {
    expect(chain(12).match(/\{/g)).toHaveLength(12);
    expectAdmitted(await post(chain(12)));
    const over = await post(chain(13));
    expectRefused(over, "MAX_DEPTH");
    expect(over.body.errors![0]!.message).toBe("Query depth limit of 12 exceeded, found 13.");
  });

  it("depth counts through fragments as if they were written inline", async () => {
    // viewer, memberships, edges and node are 4 levels; the fragment O adds the rest.
    const inside = (levels: number, onMembership = true): string =>
      levels === 1 ? "id" : `${onMembership ? "organization" : "viewerMembership"} { ${inside(levels - 1, !onMembership)} }`;
    const viaFragments = (depth: number) =>
      `{ viewer { ...M } } fragment M on User { memberships { edges { ... on MembershipEdge { node { ...O } } } } } ` +
      `fragment O on Membership { ${inside(depth - 4)} }`;
    expectAdmitted(await post(viaFragments(12)));
    expectRefused(await post(viaFragments(13)), "MAX_DEPTH");
  });

  it("aliases 30", async () => {
    const aliases = (n: number) => `{ ${Array.from({ length: n }, (_, i) => `a${i}: viewer { id }`).join(" ")} }`;
    expectAdmitted(await post(aliases(30)));
    expectRefused(await post(aliases(31)), "MAX_ALIASES");
  });

  it("tokens 3,000 (found while parsing: GRAPHQL_PARSE_FAILED)", async () => {
    // 20 tokens around the list; comments are not tokens. (Not a field repeated 3,000 times: graphql-js gives up
    // comparing that many fields with "Validation aborted.", its own protection.)
    const tokens = (n: number) =>
      `# ${"padding ".repeat(100)}\n{ organization(id: "${org.id}") { invitations(status: [${"PENDING ".repeat(n - 20)}]) { totalCount } } }`;
    // Parsed and validated: it reaches execution, where the list is refused for its length (at most 100 items).
    const at = await post(tokens(3000));
    expect(at.body.errors?.map((e) => e.extensions?.code)).toEqual(["BAD_USER_INPUT"]);
    expect(at.body.errors?.[0]?.extensions?.field).toBe("status");
    expectRefused(await post(tokens(3001)), "MAX_TOKENS", "GRAPHQL_PARSE_FAILED");
  });

  it("directives 20 in the whole document, fragments included", async () => {
    const directives = (n: number) =>
      `{ viewer { ...U } } fragment U on User { ${Array.from({ length: n }, (_, i) => `${i % 2 ? "id" : "name"} @include(if: true)`).join(" ")} }`;
    expectAdmitted(await post(directives(20)));
    expectRefused(await post(directives(21)), "MAX_DIRECTIVES");
  });

  it("cost 10,000, computed with each request's variables", async () => {
    // 1 + 1 + 100 × (1 + 1 + b) for the first root field, 1 + 1 + c for the second: b = 97, c = 96 is 10,000.
    const query = /* GraphQL */ `
      query Cost($a: Int, $b: Int, $c: Int) {
        viewer { memberships(first: $a) { edges { node { organization { invitations(first: $b) { edges { node { role { id } } } } } } } } }
        again: viewer { memberships(first: $c) { edges { node { organization { id } } } } }
      }
    `;
    expectAdmitted(await post(query, { a: 100, b: 97, c: 96 }));
    const over = await post(query, { a: 100, b: 97, c: 97 });
    expectRefused(over, "MAX_COST");
    expect(over.body.errors![0]!.message).toBe("Query cost limit of 10000 exceeded, found 10001.");
    // The same document again with smaller variables: validation results are cached per document, the cost is not.
    expectAdmitted(await post(query, { a: 100, b: 97, c: 96 }));
    expectAdmitted(await post(query, { a: 1, b: 1, c: 1 }));
  });
});

describe("what a client sees", () => {
  it("a legacy application/json client gets 200 with the same errors", async () => {
    const result = await post(chain(13), undefined, { accept: "application/json" });
    expect(result.status).toBe(200);
    expect(result.body).toEqual({
      errors: [{ message: "Query depth limit of 12 exceeded, found 13.", extensions: { code: "GRAPHQL_VALIDATION_FAILED", reason: "MAX_DEPTH", limit: 12 } }],
    });
  });

  it("other validation errors are reported beside a limit", async () => {
    const result = await post(`{ viewer { nope } ${Array.from({ length: 31 }, (_, i) => `a${i}: viewer { id }`).join(" ")} }`);
    expect(result.status).toBe(400);
    expect(result.body.errors!.map((e) => e.extensions?.code)).toEqual(["GRAPHQL_VALIDATION_FAILED", "GRAPHQL_VALIDATION_FAILED"]);
    expect(reasons(result.body)).toContain("MAX_ALIASES");
  });

  it("limits are configurable", async () => {
    const strict = await startApp({ env: { GRAPHQL_MAX_DEPTH: "3", GRAPHQL_MAX_ALIASES: "1", GRAPHQL_MAX_COST: "2" } });
    try {
      const headers = { "content-type": "application/json", accept: GRAPHQL_RESPONSE };
      const ask = async (query: string) =>
        (await (await strict.fetch("/graphql", { method: "POST", headers, body: JSON.stringify({ query }) })).json()) as any;
      await expect(ask(`{ a: __typename b: __typename }`)).resolves.toEqual({ data: { a: "Query", b: "Query" } });
      expect(reasons(await ask(chain(4)))).toEqual(["MAX_DEPTH"]);
      expect(reasons(await ask(`{ a: viewer { id } b: viewer { id } }`))).toEqual(["MAX_ALIASES"]);
      expect(reasons(await ask(`{ viewer { memberships(first: 1) { totalCount } } a: viewer { id } }`))).toEqual(["MAX_COST"]);
    } finally {
      await strict.close();
    }
  });
});

describe("introspection", () => {
  it("GraphiQL's and codegen's standard introspection query passes every limit", async () => {
    for (const options of [{}, { descriptions: true, specifiedByUrl: true, directiveIsRepeatable: true, schemaDescription: true, inputValueDeprecation: true }]) {
      const result = await post(getIntrospectionQuery(options));
      expect(result.body.errors).toBeUndefined();
      expect((result.body.data as any).__schema.queryType.name).toBe("Query");
    }
  });

  it("__type is exempt from depth too; aliases still count", async () => {
    let ofType = "name";
    for (let i = 0; i < 12; i += 1) ofType = `ofType { ${ofType} }`;
    const deep = await post(`{ __type(name: "Organization") { fields { type { ${ofType} } } } }`);
    expect(deep.body.errors).toBeUndefined();
    const aliased = await post(`{ ${Array.from({ length: 31 }, (_, i) => `a${i}: __schema { queryType { name } }`).join(" ")} }`);
    expectRefused(aliased, "MAX_ALIASES");
  });
});

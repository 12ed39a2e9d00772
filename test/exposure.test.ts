/**
 * Production exposure: no "Did you mean …" in any error, introspection and GraphiQL off unless turned on; in
 * development (and tests) all of it stays on.
 */
import { getIntrospectionQuery } from "graphql";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startApp, type TestApp, type TestUser } from "./helpers/app.js";
import { createOrg, type TestOrg } from "./helpers/fixtures.js";

let production: TestApp;
let development: TestApp;
let owner: TestUser;
let org: TestOrg;
beforeAll(async () => {
  production = await startApp({ env: { NODE_ENV: "production" } });
  development = await startApp({ env: { NODE_ENV: "development" } });
  owner = await production.user({ name: "Exposure" });
  org = await createOrg(production, owner);
});
afterAll(async () => {
  await production?.close();
  await development?.close();
});

/** Documents whose errors would suggest a name: field, argument, type, enum literal, enum variable, leaf selection. */
function mistakes(organizationId: string): Array<[string, string, Record<string, unknown>?]> {
  return [
    ["a misspelt field", `{ viewer { emial } }`],
    ["a misspelt argument", `{ organization(id: "${organizationId}") { invitations(frist: 1) { totalCount } } }`],
    ["a misspelt type", `query ($id: IDD!) { node(id: $id) { id } }`],
    ["a misspelt enum literal", `{ organization(id: "${organizationId}") { invitations(status: [PENDNG]) { totalCount } } }`],
    [
      "a misspelt enum in a variable",
      `query ($s: [InvitationStatus!]) { organization(id: "${organizationId}") { invitations(status: $s) { totalCount } } }`,
      { s: ["PENDNG"] },
    ],
    ["an object field without a selection", `{ viewer { memberships } }`],
    ["a misspelt fragment type", `{ viewer { ... on Usr { id } } }`],
  ];
}

describe("field suggestions", () => {
  it("never appear in production", async () => {
    for (const [what, query, variables] of mistakes(org.id)) {
      const result = await production.gql(query, variables, owner.token);
      expect(result.errors?.length, what).toBeGreaterThan(0);
      for (const error of result.errors!) {
        expect(error.message, what).not.toMatch(/did you mean/i);
        expect(["GRAPHQL_VALIDATION_FAILED", "BAD_REQUEST"], what).toContain(error.extensions?.code);
      }
    }
  });

  it("help in development", async () => {
    const user = await development.user({ name: "Dev" });
    const devOrg = await createOrg(development, user);
    const suggested = [];
    for (const [what, query, variables] of mistakes(devOrg.id)) {
      const result = await development.gql(query, variables, user.token);
      if (result.errors?.some((e) => /did you mean/i.test(e.message))) suggested.push(what);
    }
    expect(suggested).toEqual(["a misspelt field", "a misspelt argument", "a misspelt type", "a misspelt enum literal", "a misspelt enum in a variable", "an object field without a selection", "a misspelt fragment type"]);
  });
});

describe("introspection", () => {
  const schemaQuery = `{ __schema { queryType { name } } }`;
  const typeQuery = `{ __type(name: "Invitation") { name } }`;

  it("is refused in production, __typename still works", async () => {
    for (const query of [schemaQuery, typeQuery, getIntrospectionQuery()]) {
      const result = await production.gql(query, {}, owner.token);
      expect(result.data).toBeUndefined();
      expect(result.errors?.[0]?.extensions?.code).toBe("GRAPHQL_VALIDATION_FAILED");
      expect(result.errors?.[0]?.message).toMatch(/introspection has been disabled/);
    }
    expect(await production.gql(`{ __typename viewer { __typename } }`, {}, owner.token)).toEqual({ data: { __typename: "Query", viewer: { __typename: "User" } } });
  });

  it("answers in development, and in production with GRAPHQL_INTROSPECTION=true", async () => {
    const opened = await startApp({ env: { NODE_ENV: "production", GRAPHQL_INTROSPECTION: "true" } });
    try {
      for (const app of [development, opened]) {
        expect((await app.gql(schemaQuery)).data).toEqual({ __schema: { queryType: { name: "Query" } } });
        expect((await app.gql(typeQuery)).data).toEqual({ __type: { name: "Invitation" } });
      }
    } finally {
      await opened.close();
    }
  });
});

describe("GraphiQL", () => {
  const page = (app: TestApp) => app.fetch("/graphql", { headers: { accept: "text/html" } });

  it("is off in production: a browser gets no page", async () => {
    const response = await page(production);
    expect(response.headers.get("content-type") ?? "").not.toMatch(/text\/html/);
    expect(await response.text()).not.toMatch(/graphiql/i);
  });

  it("is served in development, and in production with GRAPHIQL=true", async () => {
    const opened = await startApp({ env: { NODE_ENV: "production", GRAPHIQL: "true" } });
    try {
      for (const app of [development, opened]) {
        const response = await page(app);
        expect(response.status).toBe(200);
        expect(response.headers.get("content-type")).toMatch(/text\/html/);
        expect(await response.text()).toMatch(/graphiql/i);
      }
    } finally {
      await opened.close();
    }
  });
});

/**
 * Request errors before execution get the contract's codes and the GraphQL-over-HTTP status codes; anything
 * unexpected is masked as INTERNAL_SERVER_ERROR, with its details in the server log only.
 */
import { GraphQLError, parse } from "graphql";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../src/config.js";
import { createLogger } from "../src/logger.js";
import { maskError } from "../src/errors.js";
import { createServer } from "../src/server.js";
import { startApp, TEST_SECRET, type TestApp } from "./helpers/app.js";

let app: TestApp;
let token: string;
beforeAll(async () => {
  app = await startApp();
  token = (await app.user({ name: "Http" })).token;
});
afterAll(async () => {
  await app?.close();
});

const GRAPHQL_RESPONSE = "application/graphql-response+json";

async function call(init: { method?: string; path?: string; accept?: string; contentType?: string; body?: string; token?: string }) {
  const headers: Record<string, string> = { accept: init.accept ?? GRAPHQL_RESPONSE };
  if (init.contentType) headers["content-type"] = init.contentType;
  if (init.token) headers.authorization = `Bearer ${init.token}`;
  const response = await app.fetch(init.path ?? "/graphql", { method: init.method ?? "POST", headers, body: init.body });
  const text = await response.text();
  return { status: response.status, headers: response.headers, text, body: JSON.parse(text) as any };
}

const post = (body: unknown, accept = GRAPHQL_RESPONSE) =>
  call({ contentType: "application/json", body: typeof body === "string" ? body : JSON.stringify(body), accept, token });

function codes(body: any): string[] {
  return (body.errors ?? []).map((e: any) => e.extensions?.code);
}

describe("malformed HTTP requests are BAD_REQUEST", () => {
  it("a body that is not JSON", async () => {
    const result = await post("{ not json");
    expect(result.status).toBe(400);
    expect(codes(result.body)).toEqual(["BAD_REQUEST"]);
    expect(result.body.data).toBeUndefined();
  });

  it.each([
    ["no query", {}],
    ["a query that is not a string", { query: 42 }],
    ["variables that are not an object", { query: "{ __typename }", variables: [1] }],
  ])("a body with %s", async (_what, body) => {
    const result = await post(body);
    expect(result.status).toBe(400);
    expect(codes(result.body)).toEqual(["BAD_REQUEST"]);
  });

  it("a GET without a query", async () => {
    const result = await call({ method: "GET" });
    expect(result.status).toBe(400);
    expect(codes(result.body)).toEqual(["BAD_REQUEST"]);
  });

  it("a mutation over GET: 405 with Allow: POST", async () => {
    const query = encodeURIComponent(`mutation { createOrganization(input: { name: "Over GET" }) { organization { id } } }`);
    const result = await call({ method: "GET", path: `/graphql?query=${query}`, token });
    expect(result.status).toBe(405);
    expect(result.headers.get("allow")).toMatch(/POST/);
    expect(codes(result.body)).toEqual(["BAD_REQUEST"]);
    // Nothing ran: the organization does not exist.
    const mine = await app.ok(/* GraphQL */ `{ viewer { memberships { totalCount } } }`, {}, token);
    expect(mine.viewer.memberships.totalCount).toBe(0);
  });

  it("an unsupported content type: 415", async () => {
    const result = await call({ contentType: "text/plain", body: "{ __typename }" });
    expect(result.status).toBe(415);
    expect(codes(result.body)).toEqual(["BAD_REQUEST"]);
  });

  it("an operationName the document does not define", async () => {
    const result = await post({ query: "query A { __typename }", operationName: "B" });
    expect(result.status).toBe(400);
    expect(codes(result.body)).toEqual(["BAD_REQUEST"]);
  });

  it("a query over GET still works", async () => {
    const result = await call({ method: "GET", path: `/graphql?query=${encodeURIComponent("{ viewer { name } }")}`, token });
    expect(result.status).toBe(200);
    expect(result.body).toEqual({ data: { viewer: { name: "Http" } } });
  });
});

describe("documents that do not parse or validate", () => {
  it("unparsable: GRAPHQL_PARSE_FAILED, 400", async () => {
    const result = await post({ query: "{ viewer { id " });
    expect(result.status).toBe(400);
    expect(codes(result.body)).toEqual(["GRAPHQL_PARSE_FAILED"]);
    expect(result.body.errors[0].message).toMatch(/Syntax Error/);
    expect(result.body.data).toBeUndefined();
  });

  it("invalid against the schema: GRAPHQL_VALIDATION_FAILED for each problem, 400", async () => {
    const result = await post({ query: "{ viewer { id noSuchField } noSuchRoot }" });
    expect(result.status).toBe(400);
    expect(codes(result.body)).toEqual(["GRAPHQL_VALIDATION_FAILED", "GRAPHQL_VALIDATION_FAILED"]);
    expect(result.body.errors.map((e: any) => e.message).join(" ")).toMatch(/noSuchField.*noSuchRoot/);
    expect(result.body.errors[0].locations).toEqual([{ line: 1, column: 15 }]);
    expect(result.body.data).toBeUndefined();
  });

  it("variables of the wrong type: BAD_REQUEST (a request error), 400", async () => {
    const result = await post({ query: "query ($id: ID!) { node(id: $id) { id } }", variables: { id: { not: "an id" } } });
    expect(result.status).toBe(400);
    expect(codes(result.body)).toEqual(["BAD_REQUEST"]);
    expect(result.body.data).toBeUndefined();
  });

  it.each([
    ["unparsable", "{ viewer {", "GRAPHQL_PARSE_FAILED"],
    ["invalid", "{ noSuchRoot }", "GRAPHQL_VALIDATION_FAILED"],
  ])("%s with Accept: application/json keeps the code (status as the spec allows for legacy clients)", async (_what, query, code) => {
    const result = await post({ query }, "application/json");
    expect([200, 400]).toContain(result.status);
    expect(result.headers.get("content-type")).toMatch(/^application\/json/);
    expect(codes(result.body)).toEqual([code]);
  });
});

describe("unexpected errors", () => {
  const SECRET_DETAIL = "connect postgres://admin:hunter2@10.0.0.7/prod failed";

  it("are masked as INTERNAL_SERVER_ERROR with a reference, and the details go to the log only", async () => {
    const lines: string[] = [];
    const server = createServer({
      config: loadConfig({ NODE_ENV: "test", JWT_SECRET: TEST_SECRET }),
      logger: createLogger("error", (line) => lines.push(line)),
      isReady: () => true,
      verifyToken: async () => {
        throw new Error(SECRET_DETAIL);
      },
    });
    const response = await server.fetch("http://localhost/graphql", {
      method: "POST",
      headers: { "content-type": "application/json", accept: GRAPHQL_RESPONSE, authorization: "Bearer whatever" },
      body: JSON.stringify({ query: "{ __typename }" }),
    });
    const text = await response.text();
    expect(response.status).toBe(500);
    expect(text).not.toMatch(/hunter2|10\.0\.0\.7|postgres:|stack|at .*\.ts/);
    const body = JSON.parse(text);
    expect(body.errors).toHaveLength(1);
    expect(body.errors[0].message).toBe("Unexpected error.");
    expect(body.errors[0].extensions).toEqual({ code: "INTERNAL_SERVER_ERROR", reference: expect.stringMatching(/^[0-9a-f-]{36}$/) });

    const logged = lines.map((l) => JSON.parse(l)).find((l) => l.reference === body.errors[0].extensions.reference);
    expect(logged).toBeDefined();
    // The details reach the log, but not the password inside them.
    expect(JSON.stringify(logged)).toContain("10.0.0.7");
    expect(lines.join("\n")).not.toContain("hunter2");
  });

  it("thrown by a resolver keep their path but lose their message", () => {
    const lines: string[] = [];
    const document = parse("{ viewer { id } }");
    const fromResolver = new GraphQLError(SECRET_DETAIL, {
      nodes: document.definitions[0] as never,
      path: ["viewer"],
      originalError: new TypeError(SECRET_DETAIL),
    });
    const masked = maskError(fromResolver, createLogger("error", (line) => lines.push(line))) as GraphQLError;
    expect(masked.message).toBe("Unexpected error.");
    expect(masked.path).toEqual(["viewer"]);
    expect(masked.extensions).toEqual({ code: "INTERNAL_SERVER_ERROR", reference: expect.any(String) });
    expect(JSON.stringify(masked.toJSON())).not.toContain("hunter2");
    expect(lines.join("\n")).toContain("10.0.0.7");
    expect(lines.join("\n")).not.toContain("hunter2");
  });

  it("contract errors pass through unmasked", async () => {
    const result = await app.gql(/* GraphQL */ `{ viewer { id } }`, {}, null);
    expect(result.errors?.[0]?.extensions).toEqual({ code: "UNAUTHENTICATED" });
    expect(result.errors?.[0]?.message).not.toBe("Unexpected error.");
  });
});

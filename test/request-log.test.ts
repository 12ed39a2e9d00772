/**
 * Logs: one JSON line per request (request id, operation, duration, status, error codes, viewer), the request id
 * echoed in `x-request-id`, a masked error's reference in both its own line and the request's, and no token, JWT or
 * secret in any line.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../src/config.js";
import { createLogger, scrubSecrets } from "../src/logger.js";
import { createServer } from "../src/server.js";
import { startApp, TEST_SECRET, uniqueEmail, type TestApp } from "./helpers/app.js";

const lines: string[] = [];
let app: TestApp;
beforeAll(async () => {
  app = await startApp({ logger: createLogger("debug", (line) => lines.push(line)) });
});
afterAll(async () => {
  await app?.close();
});

type Line = Record<string, any>;

/** POSTs a document and returns the response with the request's log line. */
async function request(body: object, headers: Record<string, string> = {}) {
  const before = lines.length;
  const response = await app.fetch("/graphql", {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/graphql-response+json", ...headers },
    body: JSON.stringify(body),
  });
  const json = (await response.json()) as any;
  const logged = lines.slice(before).map((l) => JSON.parse(l) as Line);
  const requestLines = logged.filter((l) => l.message === "request");
  expect(requestLines).toHaveLength(1);
  return { response, json, line: requestLines[0]!, logged };
}

const uuidOf = (globalId: string) => Buffer.from(globalId, "base64url").toString("utf8").split(":")[1];

describe("the request log line", () => {
  it("names the operation, its status, duration, viewer and request id, and the id is echoed", async () => {
    const alice = await app.user({ name: "Alice" });
    const { response, json, line } = await request({ query: /* GraphQL */ `query WhoAmI { viewer { id } }` }, { authorization: `Bearer ${alice.token}` });
    expect(response.status).toBe(200);
    expect(line).toMatchObject({
      level: "info",
      method: "POST",
      path: "/graphql",
      operationName: "WhoAmI",
      operationType: "query",
      status: 200,
      viewerId: uuidOf(json.data.viewer.id),
      errorCodes: [],
    });
    expect(line.durationMs).toEqual(expect.any(Number));
    expect(line.durationMs).toBeGreaterThan(0);
    expect(line.time).toEqual(expect.stringMatching(/^\d{4}-\d\d-\d\dT/));
    expect(line.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(response.headers.get("x-request-id")).toBe(line.requestId);
  });

  it("takes the client's x-request-id when it is safe, and replaces one that is not", async () => {
    const sent = "checkout-7f3a.42:retry_1";
    const kept = await request({ query: "{ __typename }" }, { "x-request-id": sent });
    expect(kept.line.requestId).toBe(sent);
    expect(kept.response.headers.get("x-request-id")).toBe(sent);

    for (const bad of ["a".repeat(129), "id with spaces", 'quote"injection', "new\tline"]) {
      const replaced = await request({ query: "{ __typename }" }, { "x-request-id": bad });
      expect(replaced.line.requestId).toMatch(/^[0-9a-f-]{36}$/);
      expect(replaced.response.headers.get("x-request-id")).toBe(replaced.line.requestId);
    }
  });

  it("lists the error codes, and an anonymous request has no viewer", async () => {
    const { line } = await request({ query: /* GraphQL */ `query Me { viewer { id } }` });
    expect(line).toMatchObject({ operationName: "Me", viewerId: null, errorCodes: ["UNAUTHENTICATED"] });

    const invalid = await request({ query: /* GraphQL */ `query Broken { nope }` });
    expect(invalid.response.status).toBe(400);
    expect(invalid.line).toMatchObject({ status: 400, errorCodes: ["GRAPHQL_VALIDATION_FAILED"] });
  });

  it("uses the executed operation's name, and never a name that is not a GraphQL name", async () => {
    const two = await request({ query: "query A { __typename } query B { __typename }", operationName: "B" });
    expect(two.line.operationName).toBe("B");
    const unnamed = await request({ query: "{ __typename }" });
    expect(unnamed.line.operationName).toBeNull();
    const bogus = await request({ query: "query A { __typename }", operationName: "A<script>" });
    expect(bogus.line.operationName).toBeNull();
    expect(bogus.line.errorCodes).toEqual(["BAD_REQUEST"]);
  });

  it("logs probes at debug, and leaves a GET request's query string out", async () => {
    const before = lines.length;
    const health = await app.fetch("/health");
    expect(health.headers.get("x-request-id")).toEqual(expect.any(String));
    const probe = lines.slice(before).map((l) => JSON.parse(l) as Line).find((l) => l.message === "request")!;
    expect(probe).toMatchObject({ level: "debug", path: "/health", status: 200 });

    const marker = `inv_${"Z".repeat(30)}`;
    const start = lines.length;
    const get = await app.fetch(`/graphql?query=${encodeURIComponent(`query Peek($t: String!) { __type(name: $t) { name } }`)}&variables=${encodeURIComponent(JSON.stringify({ t: marker, secretWord: "swordfish" }))}`, {
      headers: { accept: "application/graphql-response+json" },
    });
    expect(get.status).toBe(200);
    const logged = lines.slice(start).join("\n");
    expect(logged).toContain('"operationName":"Peek"');
    expect(logged).not.toContain("swordfish");
    expect(logged).not.toContain(marker);
  });
});

describe("secrets stay out of the logs", () => {
  it("a bad JWT, a good JWT and an invitation token never appear in a line", async () => {
    const admin = await app.user({ name: "Admin" });
    const org = await app.ok(`mutation { createOrganization(input: { name: "Logs" }) { organization { id } } }`, {}, admin.token);
    const created = await request(
      {
        query: /* GraphQL */ `mutation Invite($input: CreateInvitationInput!) { createInvitation(input: $input) { token } }`,
        variables: { input: { organizationId: org.createOrganization.organization.id, email: uniqueEmail("invitee") } },
      },
      { authorization: `Bearer ${admin.token}` },
    );
    const invitationToken = created.json.data.createInvitation.token as string;
    expect(invitationToken).toMatch(/^inv_/);

    const forged = `${admin.token.slice(0, -4)}AAAA`;
    const refused = await request({ query: "query Forged { viewer { id } }" }, { authorization: `Bearer ${forged}` });
    expect(refused.line).toMatchObject({ status: 401, errorCodes: ["UNAUTHENTICATED"] });

    const all = lines.join("\n");
    for (const secret of [admin.token, forged, invitationToken, TEST_SECRET]) expect(all).not.toContain(secret);
  });

  it("scrubs JWTs, invitation tokens, bearer credentials and URL passwords from any line", () => {
    const jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlLWJ5dGVz";
    const line = JSON.stringify({
      message: `token ${jwt} and inv_${"a".repeat(43)}`,
      detail: "Authorization: Bearer abc.def-ghi and redis://:p4ss@cache:6379 and postgres://app:hunter2@db/prod",
    });
    const scrubbed = scrubSecrets(line);
    for (const secret of [jwt, "a".repeat(43), "abc.def-ghi", "p4ss", "hunter2"]) expect(scrubbed).not.toContain(secret);
    expect(scrubbed).toContain("postgres://app:[REDACTED]@db/prod");
    expect(JSON.parse(scrubbed)).toBeTypeOf("object");
  });

  it("redacts fields named after secrets", () => {
    const out: string[] = [];
    createLogger("info", (l) => out.push(l)).info("context", { authorization: "opaque-credential", headers: { cookie: "sid=42" }, token: "plain", count: 3 });
    const line = JSON.parse(out[0]!);
    expect(line).toMatchObject({ authorization: "[REDACTED]", headers: { cookie: "[REDACTED]" }, token: "[REDACTED]", count: 3 });
  });
});

describe("a masked internal error", () => {
  it("has a reference that the request line and the error's own line both carry", async () => {
    const logged: string[] = [];
    const server = createServer({
      config: loadConfig({ NODE_ENV: "test", JWT_SECRET: TEST_SECRET }),
      logger: createLogger("info", (line) => logged.push(line)),
      isReady: () => true,
      verifyToken: async () => {
        throw new Error("the key store exploded");
      },
    });
    const response = await server.fetch("http://localhost/graphql", {
      method: "POST",
      headers: { "content-type": "application/json", authorization: "Bearer whatever", "x-request-id": "incident-1" },
      body: JSON.stringify({ query: "query Boom { __typename }" }),
    });
    const body = (await response.json()) as any;
    const reference = body.errors[0].extensions.reference as string;
    expect(body.errors[0].extensions.code).toBe("INTERNAL_SERVER_ERROR");
    const parsed = logged.map((l) => JSON.parse(l) as Line);
    const requestLine = parsed.find((l) => l.message === "request")!;
    expect(requestLine).toMatchObject({ requestId: "incident-1", status: 500, errorCodes: ["INTERNAL_SERVER_ERROR"], references: [reference] });
    const errorLine = parsed.find((l) => l.message === "unexpected error")!;
    expect(errorLine.reference).toBe(reference);
    expect(JSON.stringify(errorLine)).toContain("the key store exploded");
  });
});

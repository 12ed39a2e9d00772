/**
 * No secrets in logs: the server's whole log at debug level, across a full lifecycle and its failures (create an
 * organization, invite, resend, accept by token, decline, revoke, bad tokens, bad input, unknown invitation tokens),
 * holds no JWT, no invitation token and no JWT secret.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { signDevToken } from "../src/auth/token.js";
import { loadConfig } from "../src/config.js";
import { createLogger, DEV_INVITATION_LINK_FIELD } from "../src/logger.js";
import { createMemoryStore, createRateLimiter } from "../src/ratelimit.js";
import { createServer, type Server } from "../src/server.js";
import { startApp, TEST_SECRET, uniqueEmail, type TestApp, type TestUser } from "./helpers/app.js";
import { ACCEPT_INVITATION, CREATE_INVITATION, CREATE_ORGANIZATION, DECLINE_INVITATION, RESEND_INVITATION, REVOKE_INVITATION } from "./helpers/fixtures.js";

let app: TestApp;
beforeAll(async () => {
  app = await startApp();
});
afterAll(async () => {
  await app?.close();
});

it("a full lifecycle at LOG_LEVEL=debug logs no JWT, invitation token or secret", async () => {
  const lines: string[] = [];
  const logger = createLogger("debug", (line) => lines.push(line));
  const rateLimiter = createRateLimiter({ store: createMemoryStore(), max: 1_000, windowMs: 60_000, logger, abuse: undefined });
  const server: Server = createServer({ config: loadConfig({ NODE_ENV: "test", JWT_SECRET: TEST_SECRET }), logger, isReady: () => true, rateLimiter });
  const secrets = new Set<string>([TEST_SECRET]);
  const gql = async (query: string, variables: Record<string, unknown>, token?: string, authorization?: string) => {
    const headers: Record<string, string> = { "content-type": "application/json", accept: "application/graphql-response+json" };
    if (token) headers.authorization = `Bearer ${token}`;
    if (authorization) headers.authorization = authorization;
    const response = await server.fetch("http://localhost/graphql", { method: "POST", headers, body: JSON.stringify({ query, variables }) });
    return (await response.json()) as any;
  };
  const sign = async (user: TestUser) => {
    secrets.add(user.token);
    return user;
  };

  const owner = await sign(await app.user({ name: "Owner" }));
  const bob = await sign(await app.user({ name: "Bob" }));
  const carol = await sign(await app.user({ name: "Carol" }));
  const dave = await sign(await app.user({ name: "Dave" }));

  const org = (await gql(CREATE_ORGANIZATION, { input: { name: `Logs ${Date.now()}` } }, owner.token)).data.createOrganization.organization;
  const inviteAs = async (email: string) => {
    const result = await gql(CREATE_INVITATION, { input: { organizationId: org.id, email, metadata: { team: "x" } } }, owner.token);
    secrets.add(result.data.createInvitation.token);
    return result.data.createInvitation;
  };
  const forBob = await inviteAs(bob.email);
  const resent = await gql(RESEND_INVITATION, { input: { invitationId: forBob.invitation.id } }, owner.token);
  secrets.add(resent.data.resendInvitation.token);
  // The replaced token, then the current one.
  expect((await gql(ACCEPT_INVITATION, { input: { token: forBob.token } }, bob.token)).errors[0].extensions.code).toBe("NOT_FOUND");
  expect((await gql(ACCEPT_INVITATION, { input: { token: resent.data.resendInvitation.token } }, bob.token)).errors).toBeUndefined();
  const forCarol = await inviteAs(carol.email);
  expect((await gql(DECLINE_INVITATION, { input: { token: forCarol.token } }, carol.token)).errors).toBeUndefined();
  const forDave = await inviteAs(dave.email);
  expect((await gql(REVOKE_INVITATION, { input: { invitationId: forDave.invitation.id } }, owner.token)).errors).toBeUndefined();
  // Someone else's token for Dave's revoked invitation, and a made-up one.
  expect((await gql(ACCEPT_INVITATION, { input: { token: forDave.token } }, dave.token)).errors).toBeDefined();
  const guessed = `inv_${"A".repeat(43)}`;
  secrets.add(guessed);
  expect((await gql(ACCEPT_INVITATION, { input: { token: guessed } }, carol.token)).errors[0].extensions.code).toBe("NOT_FOUND");

  // Bad tokens of every kind.
  const forged = await signDevToken("another-secret-0123456789-0123456789-xyz", { sub: "x", email: uniqueEmail() });
  const expired = await signDevToken(TEST_SECRET, { sub: "y", email: uniqueEmail() }, { expiresIn: Math.floor(Date.now() / 1000) - 60 });
  for (const token of [forged, expired]) {
    secrets.add(token);
    expect((await gql(`{ viewer { id } }`, {}, token)).errors[0].extensions.code).toBe("UNAUTHENTICATED");
  }
  const malformed = "Basic c2VjcmV0LXBhc3N3b3JkLTAxMjM0NTY3ODk=";
  secrets.add("c2VjcmV0LXBhc3N3b3JkLTAxMjM0NTY3ODk=");
  expect((await gql(`{ viewer { id } }`, {}, undefined, malformed)).errors[0].extensions.code).toBe("UNAUTHENTICATED");
  // Errors: bad input, a parse error, a forbidden action.
  expect((await gql(CREATE_INVITATION, { input: { organizationId: org.id, email: "not an email" } }, owner.token)).errors).toBeDefined();
  expect((await gql(`{ viewer { `, {}, owner.token)).errors).toBeDefined();
  expect((await gql(CREATE_INVITATION, { input: { organizationId: org.id, email: uniqueEmail() } }, carol.token)).errors).toBeDefined();

  const log = lines.join("\n");
  expect(lines.length).toBeGreaterThan(10);
  for (const secret of secrets) expect(log).not.toContain(secret);
  // Nothing shaped like one either: a JWT (three base64url parts, the first a JSON header) or an invitation token.
  expect(log).not.toMatch(/eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+/);
  expect(log).not.toMatch(/inv_[A-Za-z0-9_-]{20,}/);
  await rateLimiter.close();
});

it("only the development invitation link keeps its token, and a logged value cannot pose as that field", () => {
  const lines: string[] = [];
  const logger = createLogger("info", (line) => lines.push(line));
  const token = `inv_${"B".repeat(43)}`;
  logger.info("invitation email not sent (no SMTP_URL); open the link to answer", {
    [DEV_INVITATION_LINK_FIELD]: `http://localhost:4000/invite?token=${token}`,
    note: `"${DEV_INVITATION_LINK_FIELD}":"${token}`,
    token,
  });
  const line = JSON.parse(lines[0]!);
  expect(line[DEV_INVITATION_LINK_FIELD]).toBe(`http://localhost:4000/invite?token=${token}`);
  expect(line.note).not.toContain(token);
  expect(line.token).not.toContain(token);
  expect(lines[0]!.split(token).length).toBe(2);
});

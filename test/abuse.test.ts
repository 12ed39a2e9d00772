/**
 * Abuse budgets, through the real server: a per-address budget checked before any token is verified; bad tokens and
 * unknown invitation tokens spend a small brute-force budget per address (RATE_LIMITED, 429, Retry-After,
 * retryAfterMs once past it, with no more verification or look-up); createInvitation and resendInvitation limited
 * per user and per organization; all shared through Redis by several instances; RATE_LIMIT_MAX=0 turns it all off.
 */
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTokenVerifier, signDevToken, type TokenVerifier } from "../src/auth/token.js";
import { loadConfig, type Config } from "../src/config.js";
import { createLogger } from "../src/logger.js";
import { createMemoryStore, createRateLimiter, createRedisStore, DEFAULT_ABUSE, rateLimiterFromConfig, type RateLimiter, type RateLimitStore } from "../src/ratelimit.js";
import { createServer, type Server } from "../src/server.js";
import { startApp, TEST_SECRET, uniqueEmail, type TestApp, type TestUser } from "./helpers/app.js";
import { addMember, CREATE_INVITATION, createOrg, invite, RESEND_INVITATION, type TestOrg } from "./helpers/fixtures.js";

const silent = createLogger("silent");
const config = loadConfig({ NODE_ENV: "test", JWT_SECRET: TEST_SECRET });
const toClose: Array<{ close(): Promise<void> }> = [];

let app: TestApp;
beforeAll(async () => {
  app = await startApp();
});
afterAll(async () => {
  for (const item of toClose.reverse()) await item.close();
  await app?.close();
});

function limited(abuse: Partial<Config["abuse"]>, store: RateLimitStore = createMemoryStore()): RateLimiter {
  const limiter = createRateLimiter({ store, max: 1_000, windowMs: 60_000, logger: silent, abuse: { ...DEFAULT_ABUSE, ...abuse } });
  toClose.push(limiter);
  return limiter;
}

/** A server on this file's database with `rateLimiter`, and a count of the tokens it verified. */
function serverWith(rateLimiter: RateLimiter): { server: Server; verified: () => number } {
  const real = createTokenVerifier(config.jwt);
  let calls = 0;
  const verifyToken: TokenVerifier = (token) => {
    calls += 1;
    return real(token);
  };
  return { server: createServer({ config, logger: silent, isReady: () => true, rateLimiter, verifyToken }), verified: () => calls };
}

interface Sent {
  status: number;
  headers: Headers;
  body: any;
}

async function send(server: Server, query: string, variables: Record<string, unknown> = {}, token?: string): Promise<Sent> {
  const headers: Record<string, string> = { "content-type": "application/json", accept: "application/graphql-response+json" };
  if (token) headers.authorization = `Bearer ${token}`;
  const response = await server.fetch("http://localhost/graphql", { method: "POST", headers, body: JSON.stringify({ query, variables }) });
  return { status: response.status, headers: response.headers, body: await response.json() };
}

function codeOf(sent: Sent): string | undefined {
  return sent.body.errors?.[0]?.extensions?.code;
}

function expectLimited(sent: Sent): void {
  expect(sent.status).toBe(429);
  const extensions = sent.body.errors[0].extensions;
  expect(extensions.code).toBe("RATE_LIMITED");
  expect(extensions.retryAfterMs).toBeGreaterThan(0);
  expect(sent.headers.get("retry-after")).toBe(String(Math.ceil(extensions.retryAfterMs / 1000)));
}

const ACCEPT_BY_TOKEN = /* GraphQL */ `mutation ($token: String) { acceptInvitation(input: { token: $token }) { invitation { id status } } }`;
const guess = () => `inv_${randomBytes(32).toString("base64url")}`;
const badJwt = () => signDevToken(`wrong-secret-${randomBytes(16).toString("hex")}`, { sub: "attacker", email: "attacker@example.test" });

describe("brute force on invitation tokens", () => {
  it("unknown tokens spend the address's budget; past it RATE_LIMITED, and even the right token is not looked up", async () => {
    const owner = await app.user();
    const org = await createOrg(app, owner);
    const invitee = await app.user();
    const real = await invite(app, owner, org.id, invitee.email);
    const { server } = serverWith(limited({ bruteForce: { max: 3, windowMs: 60_000 } }));

    for (let i = 0; i < 3; i += 1) expect(codeOf(await send(server, ACCEPT_BY_TOKEN, { token: guess() }, invitee.token))).toBe("NOT_FOUND");
    expectLimited(await send(server, ACCEPT_BY_TOKEN, { token: guess() }, invitee.token));
    const right = await app.countQueries(() => send(server, ACCEPT_BY_TOKEN, { token: real.token }, invitee.token));
    expect(right.count).toBe(0);
    expect(codeOf(await send(server, ACCEPT_BY_TOKEN, { token: real.token }, invitee.token))).toBe("RATE_LIMITED");
    // Still pending: the refused accept changed nothing.
    expect((await app.ok(`query ($id: ID!) { invitation(id: $id) { status } }`, { id: real.id }, owner.token)).invitation.status).toBe("PENDING");
  });

  it("a known token spends nothing", async () => {
    const owner = await app.user();
    const org = await createOrg(app, owner);
    const { server } = serverWith(limited({ bruteForce: { max: 1, windowMs: 60_000 } }));
    for (let i = 0; i < 3; i += 1) {
      const invitee = await app.user();
      const invitation = await invite(app, owner, org.id, invitee.email);
      const result = await send(server, /* GraphQL */ `mutation ($token: String) { declineInvitation(input: { token: $token }) { invitation { status } } }`, { token: invitation.token }, invitee.token);
      expect(result.body.errors).toBeUndefined();
    }
  });
});

describe("brute force with bad JWTs", () => {
  it("bad tokens spend the address's budget; past it RATE_LIMITED without verifying any further token", async () => {
    const { server, verified } = serverWith(limited({ bruteForce: { max: 3, windowMs: 60_000 } }));
    const codes: Array<string | undefined> = [];
    for (let i = 0; i < 10; i += 1) codes.push(codeOf(await send(server, `{ __typename }`, {}, await badJwt())));
    expect(codes).toEqual([...Array(3).fill("UNAUTHENTICATED"), ...Array(7).fill("RATE_LIMITED")]);
    // The fourth was verified (and found bad: that spent the budget); none after it.
    expect(verified()).toBe(4);
    expectLimited(await send(server, `{ __typename }`, {}, "not-even-a-jwt"));
    // A good token from the same address waits too: the server cannot tell it apart without verifying it.
    const user = await app.user();
    expect(codeOf(await send(server, `{ viewer { id } }`, {}, user.token))).toBe("RATE_LIMITED");
    expect(verified()).toBe(4);
    // Anonymous requests are not locked out by it.
    expect((await send(server, `{ __typename }`)).body).toEqual({ data: { __typename: "Query" } });
  });

  it("the per-address budget is checked before verification and the user upsert", async () => {
    const { server, verified } = serverWith(limited({ addressMax: 2 }));
    const users = [await app.user(), await app.user(), await app.user()];
    expect(codeOf(await send(server, `{ viewer { id } }`, {}, users[0]!.token))).toBeUndefined();
    expect(codeOf(await send(server, `{ viewer { id } }`, {}, users[1]!.token))).toBeUndefined();
    const third = await app.countQueries(() => send(server, `{ viewer { id } }`, {}, users[2]!.token));
    expect(third.count).toBe(0);
    expect(verified()).toBe(2);
    expect(await app.db.prisma.user.count({ where: { sub: users[2]!.sub } })).toBe(0);
  });
});

describe("invitations per user and per organization", () => {
  let owner: TestUser;
  let admin: TestUser;
  let org: TestOrg;
  beforeAll(async () => {
    owner = await app.user({ name: "Owner" });
    org = await createOrg(app, owner);
    admin = await addMember(app, org, owner, "admin");
  });

  it("create and resend count against the inviter's budget and the organization's", async () => {
    const { server } = serverWith(limited({ invitations: { perUser: 2, perOrganization: 3, windowMs: 60_000 } }));
    const create = (actor: TestUser) => send(server, CREATE_INVITATION, { input: { organizationId: org.id, email: uniqueEmail() } }, actor.token);

    const first = await create(owner);
    expect(first.body.errors).toBeUndefined();
    const resent = await send(server, RESEND_INVITATION, { input: { invitationId: first.body.data.createInvitation.invitation.id } }, owner.token);
    expect(resent.body.errors).toBeUndefined();
    const overUser = await create(owner);
    expectLimited(overUser);
    expect(overUser.body.data).toBeNull();

    expect((await create(admin)).body.errors).toBeUndefined(); // the organization's third
    expectLimited(await create(admin)); // the organization's budget is spent, though the admin's is not
  });

  it("someone not allowed to invite spends no organization's budget", async () => {
    const { server } = serverWith(limited({ invitations: { perUser: 100, perOrganization: 1, windowMs: 60_000 } }));
    const outsider = await app.user();
    for (let i = 0; i < 3; i += 1) {
      expect(codeOf(await send(server, CREATE_INVITATION, { input: { organizationId: org.id, email: uniqueEmail() } }, outsider.token))).toBe("NOT_FOUND");
    }
    expect((await send(server, CREATE_INVITATION, { input: { organizationId: org.id, email: uniqueEmail() } }, owner.token)).body.errors).toBeUndefined();
  });
});

describe("with Redis", () => {
  it("two instances share the brute-force budget", async () => {
    const prefix = `invitations-test:${randomBytes(6).toString("hex")}:`;
    const store = () => createRedisStore("redis://127.0.0.1:6379", { prefix, logger: silent });
    const one = serverWith(limited({ bruteForce: { max: 4, windowMs: 60_000 } }, store()));
    const two = serverWith(limited({ bruteForce: { max: 4, windowMs: 60_000 } }, store()));
    // The stores connect in the background; wait until Redis answers so no request passes fail-open.
    const probe = store();
    toClose.push(probe);
    await expect.poll(() => probe.hit(`probe:${randomBytes(4).toString("hex")}`, 1_000).then(() => true, () => false), { timeout: 5_000 }).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 200));

    const codes: Array<string | undefined> = [];
    for (let i = 0; i < 6; i += 1) codes.push(codeOf(await send(i % 2 === 0 ? one.server : two.server, `{ __typename }`, {}, await badJwt())));
    expect(codes).toEqual([...Array(4).fill("UNAUTHENTICATED"), "RATE_LIMITED", "RATE_LIMITED"]);
    expect(one.verified() + two.verified()).toBe(5);
  });
});

describe("the switch", () => {
  it("RATE_LIMIT_MAX=0 turns off every limit and budget", async () => {
    expect(rateLimiterFromConfig(loadConfig({ RATE_LIMIT_MAX: "0", RATE_LIMIT_BRUTE_FORCE_MAX: "1" }), silent)).toBeUndefined();
    const { server, verified } = serverWith(undefined as unknown as RateLimiter);
    for (let i = 0; i < 30; i += 1) expect(codeOf(await send(server, `{ __typename }`, {}, await badJwt()))).toBe("UNAUTHENTICATED");
    expect(verified()).toBe(30);
  });
});

/**
 * Bearer tokens through the real server: a good token creates, then refreshes, the user; any bad token is
 * UNAUTHENTICATED (401), never anonymous. JWKS mode (RS256 and ES256 from a local key-set server) checks issuer
 * and audience and refuses algorithm tricks.
 */
import { createServer as createHttpServer, type Server as HttpServer } from "node:http";
import { once } from "node:events";
import { randomBytes } from "node:crypto";
import { decodeJwt, exportJWK, exportSPKI, generateKeyPair, SignJWT, UnsecuredJWT, type CryptoKey, type JWK } from "jose";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { cachedVerifier, signDevToken } from "../src/auth/token.js";
import { loadConfig } from "../src/config.js";
import { createLogger } from "../src/logger.js";
import { createServer, type Server } from "../src/server.js";
import { startApp, TEST_SECRET, uniqueEmail, type TestApp } from "./helpers/app.js";
import { freePort } from "./helpers/processes.js";

let app: TestApp;
beforeAll(async () => {
  app = await startApp();
});
afterAll(async () => {
  await app?.close();
});

const now = () => Math.floor(Date.now() / 1000);
const newSub = () => `auth|${randomBytes(8).toString("hex")}`;

/** Sends `query` with a raw Authorization header value. */
async function withAuthorization(server: Pick<Server, "fetch">, authorization: string | undefined, query = "{ __typename }") {
  const headers: Record<string, string> = { "content-type": "application/json", accept: "application/graphql-response+json" };
  if (authorization !== undefined) headers.authorization = authorization;
  const response = await server.fetch("http://localhost/graphql", { method: "POST", headers, body: JSON.stringify({ query }) });
  return { status: response.status, headers: response.headers, body: (await response.json()) as any };
}

/** The request was refused as UNAUTHENTICATED, with nothing executed. */
function expectUnauthenticated(result: { status: number; headers: Headers; body: any }) {
  expect(result.status).toBe(401);
  expect(result.headers.get("www-authenticate")).toMatch(/^Bearer/);
  expect(result.body.data ?? null).toBeNull();
  expect(result.body.errors).toHaveLength(1);
  expect(result.body.errors[0].extensions).toEqual({ code: "UNAUTHENTICATED" });
}

/** The token's `sub`, read without verifying, when it has one. */
function subOf(token: string): string | undefined {
  try {
    const sub = decodeJwt(token).sub;
    return typeof sub === "string" && sub !== "" ? sub : undefined;
  } catch {
    return undefined;
  }
}

const userBySub = (sub: string) => app.db.prisma.user.findMany({ where: { sub } });

describe("HS256 tokens (JWT_SECRET)", () => {
  it("creates the user from the claims on the first request", async () => {
    const sub = newSub();
    const email = uniqueEmail("first");
    expect(await userBySub(sub)).toHaveLength(0);
    const token = await signDevToken(TEST_SECRET, { sub, email: `  ${email.toUpperCase()} `, name: "First Person", picture: "https://img.example/a.png" });

    const data = await app.ok(/* GraphQL */ `{ viewer { id email name avatarUrl } }`, {}, token);
    expect(data.viewer).toEqual({ id: expect.any(String), email, name: "First Person", avatarUrl: "https://img.example/a.png" });

    const rows = await userBySub(sub);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ sub, email, name: "First Person", avatarUrl: "https://img.example/a.png" });
  });

  it("refreshes email, name and picture from a later token with the same sub, keeping the same user", async () => {
    const sub = newSub();
    const first = await signDevToken(TEST_SECRET, { sub, email: uniqueEmail("before"), name: "Before", picture: "https://img.example/1.png" });
    const before = await app.ok(/* GraphQL */ `{ viewer { id } }`, {}, first);

    const email = uniqueEmail("after");
    const second = await signDevToken(TEST_SECRET, { sub, email, name: "After", picture: "https://img.example/2.png", email_verified: true });
    const after = await app.ok(/* GraphQL */ `{ viewer { id email name avatarUrl } }`, {}, second);
    expect(after.viewer).toEqual({ id: before.viewer.id, email, name: "After", avatarUrl: "https://img.example/2.png" });

    const rows = await userBySub(sub);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ email, name: "After", avatarUrl: "https://img.example/2.png", emailVerified: true });
  });

  it("creates the user once when its first requests arrive together", async () => {
    const sub = newSub();
    const token = await signDevToken(TEST_SECRET, { sub, email: uniqueEmail("together") });
    const results = await Promise.all([1, 2, 3, 4, 5].map(() => app.ok(/* GraphQL */ `{ viewer { id } }`, {}, token)));
    expect(new Set(results.map((r) => r.viewer.id)).size).toBe(1);
    expect(await userBySub(sub)).toHaveLength(1);
  });

  it("answers viewer with UNAUTHENTICATED when no token is sent", async () => {
    const result = await withAuthorization(app.server, undefined, "{ viewer { id } }");
    expect(result.body.errors?.[0]?.extensions?.code).toBe("UNAUTHENTICATED");
    expect(result.body.data ?? null).toBeNull();
  });

  const bad: Array<[string, () => Promise<string>]> = [
    ["signed with another secret", () => signDevToken("another-secret-0123456789-0123456789-xyz", { sub: newSub(), email: uniqueEmail() })],
    ["expired", () => signDevToken(TEST_SECRET, { sub: newSub(), email: uniqueEmail() }, { expiresIn: now() - 60 })],
    [
      "not valid yet (nbf in the future)",
      () => new SignJWT({ sub: newSub(), email: uniqueEmail() }).setProtectedHeader({ alg: "HS256" }).setNotBefore(now() + 3600).setExpirationTime("1h").sign(new TextEncoder().encode(TEST_SECRET)),
    ],
    ["unsigned (alg none)", async () => new UnsecuredJWT({ sub: newSub(), email: uniqueEmail() }).setExpirationTime("1h").encode()],
    [
      "alg none with the original signature kept",
      async () => {
        const [, payload, signature] = (await signDevToken(TEST_SECRET, { sub: newSub(), email: uniqueEmail() })).split(".");
        return `${Buffer.from(JSON.stringify({ alg: "none", typ: "JWT" })).toString("base64url")}.${payload}.${signature}`;
      },
    ],
    [
      "HS512 with the right secret (only HS256 is allowed)",
      () => new SignJWT({ sub: newSub(), email: uniqueEmail() }).setProtectedHeader({ alg: "HS512" }).setExpirationTime("1h").sign(new TextEncoder().encode(TEST_SECRET)),
    ],
    [
      "with a tampered payload",
      async () => {
        const [header, , signature] = (await signDevToken(TEST_SECRET, { sub: newSub(), email: uniqueEmail() })).split(".");
        const forged = Buffer.from(JSON.stringify({ sub: newSub(), email: "ceo@example.com", exp: now() + 3600 })).toString("base64url");
        return `${header}.${forged}.${signature}`;
      },
    ],
    ["without exp (it would never expire)", () => new SignJWT({ sub: newSub(), email: uniqueEmail() }).setProtectedHeader({ alg: "HS256" }).sign(new TextEncoder().encode(TEST_SECRET))],
    ["without sub", () => new SignJWT({ email: uniqueEmail() }).setProtectedHeader({ alg: "HS256" }).setExpirationTime("1h").sign(new TextEncoder().encode(TEST_SECRET))],
    ["with an empty sub", () => new SignJWT({ sub: "", email: uniqueEmail() }).setProtectedHeader({ alg: "HS256" }).setExpirationTime("1h").sign(new TextEncoder().encode(TEST_SECRET))],
    ["without email", () => new SignJWT({ sub: newSub() }).setProtectedHeader({ alg: "HS256" }).setExpirationTime("1h").sign(new TextEncoder().encode(TEST_SECRET))],
    ["with an invalid email", () => signDevToken(TEST_SECRET, { sub: newSub(), email: "not-an-email" })],
    [
      "with a non-boolean email_verified",
      () => new SignJWT({ sub: newSub(), email: uniqueEmail(), email_verified: "yes" }).setProtectedHeader({ alg: "HS256" }).setExpirationTime("1h").sign(new TextEncoder().encode(TEST_SECRET)),
    ],
    ["that is not a JWT at all", async () => "not.a.jwt"],
  ];

  it.each(bad)("refuses a token %s, even for a query anyone may run, and creates no user", async (_what, make) => {
    const token = await make();
    expectUnauthenticated(await withAuthorization(app.server, `Bearer ${token}`));
    expectUnauthenticated(await withAuthorization(app.server, `Bearer ${token}`, "{ viewer { id } }"));
    const sub = subOf(token);
    if (sub) expect(await userBySub(sub)).toHaveLength(0);
  });

  it.each([
    ["Basic dXNlcjpwYXNz"],
    ["Bearer"],
    ["Bearer "],
    ["Bearer two tokens"],
    ["Token abc.def.ghi"],
  ])("refuses a malformed Authorization header %j", async (header) => {
    expectUnauthenticated(await withAuthorization(app.server, header));
  });

  it("accepts the scheme in any case (RFC 7235)", async () => {
    const sub = newSub();
    const token = await signDevToken(TEST_SECRET, { sub, email: uniqueEmail() });
    const result = await withAuthorization(app.server, `bearer ${token}`, "{ viewer { id } }");
    expect(result.status).toBe(200);
    expect(result.body.data.viewer.id).toEqual(expect.any(String));
  });

  it("never creates a user from a refused token", async () => {
    const sub = newSub();
    const forged = await signDevToken("another-secret-0123456789-0123456789-xyz", { sub, email: uniqueEmail() });
    expectUnauthenticated(await withAuthorization(app.server, `Bearer ${forged}`, "{ viewer { id } }"));
    const expired = await signDevToken(TEST_SECRET, { sub, email: uniqueEmail() }, { expiresIn: now() - 60 });
    expectUnauthenticated(await withAuthorization(app.server, `Bearer ${expired}`, "{ viewer { id } }"));
    expect(await userBySub(sub)).toHaveLength(0);
  });
});

describe("JWKS tokens (JWT_JWKS_URL, RS256 and ES256, with issuer and audience)", () => {
  const ISSUER = "https://issuer.test/";
  const AUDIENCE = "invitations-api";
  let keySet: HttpServer;
  let keySetUrl = "";
  let server: Server;
  let rsa: { privateKey: CryptoKey; publicKey: CryptoKey };
  let ec: { privateKey: CryptoKey; publicKey: CryptoKey };
  let stranger: { privateKey: CryptoKey; publicKey: CryptoKey };

  beforeAll(async () => {
    rsa = await generateKeyPair("RS256");
    ec = await generateKeyPair("ES256");
    stranger = await generateKeyPair("RS256");
    const keys: JWK[] = [
      { ...(await exportJWK(rsa.publicKey)), kid: "rsa-1", alg: "RS256", use: "sig" },
      { ...(await exportJWK(ec.publicKey)), kid: "ec-1", alg: "ES256", use: "sig" },
    ];
    keySet = createHttpServer((request, response) => {
      const status = request.url?.startsWith("/broken/") ? 500 : 200;
      response.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(status === 200 ? { keys } : { error: "down" }));
    });
    keySet.listen(0, "127.0.0.1");
    await once(keySet, "listening");
    const address = keySet.address();
    keySetUrl = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}/.well-known/jwks.json`;
    const config = loadConfig({ NODE_ENV: "test", JWT_JWKS_URL: keySetUrl, JWT_ISSUER: ISSUER, JWT_AUDIENCE: AUDIENCE });
    server = createServer({ config, logger: createLogger("silent"), isReady: () => true });
  });
  afterAll(async () => {
    keySet?.closeAllConnections();
    keySet?.close();
  });

  const sign = (
    key: CryptoKey | Uint8Array,
    header: { alg: string; kid?: string },
    claims: Record<string, unknown> = {},
    { issuer = ISSUER, audience = AUDIENCE }: { issuer?: string | null; audience?: string | null } = {},
  ) => {
    let jwt = new SignJWT({ sub: newSub(), email: uniqueEmail("jwks"), name: "Key Set User", ...claims }).setProtectedHeader(header).setIssuedAt().setExpirationTime("1h");
    if (issuer) jwt = jwt.setIssuer(issuer);
    if (audience) jwt = jwt.setAudience(audience);
    return jwt.sign(key);
  };

  it.each([
    ["RS256", () => sign(rsa.privateKey, { alg: "RS256", kid: "rsa-1" })],
    ["ES256", () => sign(ec.privateKey, { alg: "ES256", kid: "ec-1" })],
    ["ES256 without kid", () => sign(ec.privateKey, { alg: "ES256" })],
  ])("accepts a %s token from the key set and creates the user", async (_alg, make) => {
    const token = await make();
    const result = await withAuthorization(server, `Bearer ${token}`, "{ viewer { id name } }");
    expect(result.status).toBe(200);
    expect(result.body).toEqual({ data: { viewer: { id: expect.any(String), name: "Key Set User" } } });
  });

  it.each([
    ["from another issuer", () => sign(rsa.privateKey, { alg: "RS256", kid: "rsa-1" }, {}, { issuer: "https://evil.test/" })],
    ["without an issuer", () => sign(rsa.privateKey, { alg: "RS256", kid: "rsa-1" }, {}, { issuer: null })],
    ["for another audience", () => sign(ec.privateKey, { alg: "ES256", kid: "ec-1" }, {}, { audience: "another-api" })],
    ["without an audience", () => sign(ec.privateKey, { alg: "ES256", kid: "ec-1" }, {}, { audience: null })],
    ["signed by a key not in the set (same kid)", () => sign(stranger.privateKey, { alg: "RS256", kid: "rsa-1" })],
    ["with an unknown kid", () => sign(stranger.privateKey, { alg: "RS256", kid: "rsa-2" })],
    ["signed with HS256 (no secret in JWKS mode)", () => sign(new TextEncoder().encode(TEST_SECRET), { alg: "HS256" })],
    [
      "signed with HS256 using the public key as the secret (algorithm confusion)",
      async () => sign(new TextEncoder().encode(await exportSPKI(rsa.publicKey)), { alg: "HS256", kid: "rsa-1" }),
    ],
    ["without email", () => sign(rsa.privateKey, { alg: "RS256", kid: "rsa-1" }, { email: undefined })],
    ["expired", async () => new SignJWT({ sub: newSub(), email: uniqueEmail() }).setProtectedHeader({ alg: "RS256", kid: "rsa-1" }).setIssuer(ISSUER).setAudience(AUDIENCE).setExpirationTime(now() - 60).sign(rsa.privateKey)],
  ])("refuses a token %s", async (_what, make) => {
    const token = await make();
    expectUnauthenticated(await withAuthorization(server, `Bearer ${token}`));
  });

  it.each([
    ["answers 500", () => keySetUrl.replace("/.well-known/", "/broken/")],
    ["does not answer", async () => `http://127.0.0.1:${await freePort()}/jwks.json`],
  ])("answers SERVICE_UNAVAILABLE (503), not UNAUTHENTICATED, when the key-set server %s", async (_what, url) => {
    const config = loadConfig({ NODE_ENV: "test", JWT_JWKS_URL: await url(), JWT_ISSUER: ISSUER, JWT_AUDIENCE: AUDIENCE });
    const unlucky = createServer({ config, logger: createLogger("silent"), isReady: () => true });
    const token = await sign(rsa.privateKey, { alg: "RS256", kid: "rsa-1" });
    const result = await withAuthorization(unlucky, `Bearer ${token}`);
    expect(result.status).toBe(503);
    expect(result.body.errors).toHaveLength(1);
    expect(result.body.errors[0].extensions).toMatchObject({ code: "SERVICE_UNAVAILABLE" });
    expect(result.body.data ?? null).toBeNull();
  });
});

describe("verified tokens are remembered until they expire", () => {
  const claims = (sub: string) => ({ sub, email: `${sub}@example.test` });

  it("verifies a token once, then answers from memory, and again once its exp has passed (wall clock)", async () => {
    const calls: string[] = [];
    const expMs = Date.now() + 60_000;
    const verify = cachedVerifier(async (token) => {
      calls.push(token);
      return { claims: claims(token), expMs };
    });
    expect(await verify("a")).toEqual(claims("a"));
    expect(await verify("a")).toEqual(claims("a"));
    expect(await verify("b")).toEqual(claims("b"));
    expect(calls).toEqual(["a", "b"]);
    vi.useFakeTimers({ now: expMs, toFake: ["Date"] });
    try {
      await verify("a");
      expect(calls).toEqual(["a", "b", "a"]);
    } finally {
      vi.useRealTimers();
    }
  });

  it("never remembers a refusal, and forgets the least recently used beyond its bound", async () => {
    let calls = 0;
    const verify = cachedVerifier(async (token) => {
      calls += 1;
      if (token === "bad") throw new Error("refused");
      return { claims: claims(token), expMs: Date.now() + 60_000 };
    }, 2);
    await expect(verify("bad")).rejects.toThrow("refused");
    await expect(verify("bad")).rejects.toThrow("refused");
    expect(calls).toBe(2);
    await verify("a");
    await verify("b");
    await verify("c");
    expect(calls).toBe(5);
    await verify("c");
    await verify("b");
    expect(calls).toBe(5);
    await verify("a");
    expect(calls).toBe(6);
  });

  it("through the server: a token verified once is refused after it expires, without a new signature check passing it", async () => {
    const sub = newSub();
    const token = await signDevToken(TEST_SECRET, { sub, email: uniqueEmail() }, { expiresIn: now() + 30 });
    expect((await withAuthorization(app.server, `Bearer ${token}`, "{ viewer { id } }")).status).toBe(200);
    vi.useFakeTimers({ now: (now() + 31) * 1000, toFake: ["Date"] });
    try {
      expectUnauthenticated(await withAuthorization(app.server, `Bearer ${token}`, "{ viewer { id } }"));
    } finally {
      vi.useRealTimers();
    }
  });
});

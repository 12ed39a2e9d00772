/**
 * invitationPreview(token): public (no Authorization), showing only the organization's name, logo and member count,
 * the inviter's name and avatar, the expiry, the status and the masked address; NOT_FOUND for an unknown, replaced or
 * deleted token; and a miss spends the client address's brute-force budget, so it cannot test guessed tokens.
 */
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../src/config.js";
import { maskEmail } from "../src/invitations/preview.js";
import { createLogger } from "../src/logger.js";
import { createMemoryStore, createRateLimiter, DEFAULT_ABUSE } from "../src/ratelimit.js";
import { createServer, type Server } from "../src/server.js";
import { startApp, TEST_SECRET, type TestApp } from "./helpers/app.js";
import { accept, addMember, createOrg, decline, expectError, expire, invite, remove, resend, revoke } from "./helpers/fixtures.js";
import { listen, type Listening } from "./helpers/http.js";

let app: TestApp;
let http: Listening;
beforeAll(async () => {
  app = await startApp();
  http = await listen(app.server);
});
afterAll(async () => {
  await http?.close();
  await app?.close();
});

const PREVIEW = /* GraphQL */ `
  query Preview($token: String!) {
    invitationPreview(token: $token) {
      maskedEmail status expiresAt
      organization { name logoUrl memberCount }
      invitedBy { name avatarUrl }
    }
  }
`;

const preview = (token: string) => app.gql(PREVIEW, { token }, null);
const guess = () => `inv_${randomBytes(32).toString("base64url")}`;

describe("masking the address", () => {
  it.each([
    ["jane@acme.com", "j***@acme.com"],
    ["jane.doe+invites@acme.com", "j***@acme.com"],
    ["joe@acme.com", "j***@acme.com"],
    ["jo@acme.com", "***@acme.com"],
    ["j@acme.com", "***@acme.com"],
    ["élodie@exemple.fr", "é***@exemple.fr"],
    ["👩‍💻dev@acme.com", "👩***@acme.com"],
    ["weird@name@acme.com", "w***@acme.com"],
  ])("%s -> %s", (email, masked) => {
    expect(maskEmail(email)).toBe(masked);
  });
});

describe("invitationPreview", () => {
  it("answers a plain HTTP request with no Authorization header, with exactly the preview's fields", async () => {
    const owner = await app.user({ name: "Olivia <Owner>" });
    const org = await createOrg(app, owner, { logoUrl: "https://cdn.example.test/logo.png" });
    await addMember(app, org, owner);
    const invitation = await invite(app, owner, org.id, `jane-${randomBytes(3).toString("hex")}@acme.example`);
    const response = await fetch(http.url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ query: PREVIEW, variables: { token: invitation.token } }),
    });
    expect(response.status).toBe(200);
    const body = await response.json();
    expect(body.errors).toBeUndefined();
    expect(body.data.invitationPreview).toEqual({
      maskedEmail: "j***@acme.example",
      status: "PENDING",
      expiresAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      organization: { name: org.name, logoUrl: "https://cdn.example.test/logo.png", memberCount: 2 },
      invitedBy: { name: "Olivia <Owner>", avatarUrl: null },
    });
    // Over GET as well (a query), still without any header.
    const viaGet = await fetch(`${http.url}?query=${encodeURIComponent(PREVIEW)}&variables=${encodeURIComponent(JSON.stringify({ token: invitation.token }))}`);
    expect((await viaGet.json()).data.invitationPreview.maskedEmail).toBe("j***@acme.example");
  });

  it("shows nothing else: the type has no id, no full address, no members", async () => {
    const result = await app.gql(`query ($token: String!) { invitationPreview(token: $token) { email } }`, { token: guess() }, null);
    expectError(result, { code: "GRAPHQL_VALIDATION_FAILED" });
    const fields = await app.ok(`{ __type(name: "InvitationPreview") { fields { name } } }`);
    expect(fields.__type.fields.map((f: { name: string }) => f.name).sort()).toEqual(["expiresAt", "invitedBy", "maskedEmail", "organization", "status"]);
    const org = await app.ok(`{ __type(name: "InvitationPreviewOrganization") { fields { name } } }`);
    expect(org.__type.fields.map((f: { name: string }) => f.name).sort()).toEqual(["logoUrl", "memberCount", "name"]);
  });

  it("is NOT_FOUND for an unknown token, a token replaced by a resend, and a deleted invitation", async () => {
    const owner = await app.user();
    const org = await createOrg(app, owner);
    expectError(await preview(guess()), { code: "NOT_FOUND" });
    expectError(await preview("not-even-shaped-like-a-token"), { code: "NOT_FOUND" });

    const invitation = await invite(app, owner, org.id, `resent-${randomBytes(3).toString("hex")}@example.test`);
    const resent = await resend(app, owner, invitation.id);
    expect(resent.errors).toBeUndefined();
    expectError(await preview(invitation.token), { code: "NOT_FOUND" });
    expect((await preview(resent.data!.resendInvitation.token)).data?.invitationPreview.status).toBe("PENDING");

    const deleted = await invite(app, owner, org.id, `deleted-${randomBytes(3).toString("hex")}@example.test`);
    expect((await remove(app, owner, deleted.id)).errors).toBeUndefined();
    expectError(await preview(deleted.token), { code: "NOT_FOUND" });
    expectError(await app.gql(PREVIEW, { token: "  " }, null), { code: "BAD_USER_INPUT", field: "token" });
  });

  it("shows the status of an answered, revoked or expired invitation", async () => {
    const owner = await app.user();
    const org = await createOrg(app, owner);
    const accepter = await app.user();
    const accepted = await invite(app, owner, org.id, accepter.email);
    expect((await accept(app, accepter, { token: accepted.token })).errors).toBeUndefined();
    const result = (await preview(accepted.token)).data?.invitationPreview;
    expect(result.status).toBe("ACCEPTED");
    expect(result.organization.memberCount).toBe(2);

    const decliner = await app.user();
    const declined = await invite(app, owner, org.id, decliner.email);
    expect((await decline(app, decliner, { token: declined.token })).errors).toBeUndefined();
    expect((await preview(declined.token)).data?.invitationPreview.status).toBe("DECLINED");

    const revoked = await invite(app, owner, org.id, `revoked-${randomBytes(3).toString("hex")}@example.test`);
    expect((await revoke(app, owner, revoked.id)).errors).toBeUndefined();
    expect((await preview(revoked.token)).data?.invitationPreview.status).toBe("REVOKED");

    const expired = await invite(app, owner, org.id, `expired-${randomBytes(3).toString("hex")}@example.test`);
    await expire(app, expired.id);
    expect((await preview(expired.token)).data?.invitationPreview.status).toBe("EXPIRED");
  });

  it("works for a signed-in viewer too, whoever they are (the token is the key)", async () => {
    const owner = await app.user();
    const org = await createOrg(app, owner);
    const invitation = await invite(app, owner, org.id, `someone-${randomBytes(3).toString("hex")}@example.test`);
    const stranger = await app.user();
    const result = await app.gql(PREVIEW, { token: invitation.token }, stranger.token);
    expect(result.data?.invitationPreview.maskedEmail).toBe("s***@example.test");
  });
});

describe("the brute-force budget", () => {
  const config = loadConfig({ NODE_ENV: "test", JWT_SECRET: TEST_SECRET });
  function limitedServer(max: number): { server: Server; close(): Promise<void> } {
    const limiter = createRateLimiter({
      store: createMemoryStore(),
      max: 1_000,
      windowMs: 60_000,
      logger: createLogger("silent"),
      abuse: { ...DEFAULT_ABUSE, bruteForce: { max, windowMs: 60_000 } },
    });
    return { server: createServer({ config, logger: createLogger("silent"), isReady: () => true, rateLimiter: limiter }), close: () => limiter.close() };
  }
  const send = async (server: Server, token: string) => {
    const response = await server.fetch("http://localhost/graphql", {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/graphql-response+json" },
      body: JSON.stringify({ query: PREVIEW, variables: { token } }),
    });
    return { status: response.status, retryAfter: response.headers.get("retry-after"), body: await response.json() };
  };

  it("an unknown token spends it; past it RATE_LIMITED (429), and the right token is not even looked up", async () => {
    const owner = await app.user();
    const org = await createOrg(app, owner);
    const invitation = await invite(app, owner, org.id, `budget-${randomBytes(3).toString("hex")}@example.test`);
    const { server, close } = limitedServer(3);
    try {
      // A known token spends nothing.
      for (let i = 0; i < 5; i += 1) expect((await send(server, invitation.token)).body.data.invitationPreview.status).toBe("PENDING");
      for (let i = 0; i < 3; i += 1) expect((await send(server, guess())).body.errors[0].extensions.code).toBe("NOT_FOUND");
      const refused = await send(server, guess());
      expect(refused.status).toBe(429);
      expect(refused.body.errors[0].extensions.code).toBe("RATE_LIMITED");
      expect(refused.body.errors[0].extensions.retryAfterMs).toBeGreaterThan(0);
      expect(Number(refused.retryAfter)).toBeGreaterThan(0);
      const right = await app.countQueries(() => send(server, invitation.token));
      expect(right.count).toBe(0);
      expect((await send(server, invitation.token)).body.errors[0].extensions.code).toBe("RATE_LIMITED");
    } finally {
      await close();
    }
  });
});

/**
 * Organization limits (seatLimit, allowedEmailDomains, updateOrganization), Invitation.version with expectedVersion,
 * and createInvitations (bulk), on PGlite and PostgreSQL. The race of ten invitations into the last seat is in
 * test/postgres/concurrency.test.ts; the bulk path's statement count in test/query-count.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogger } from "../src/logger.js";
import { createMemoryStore, createRateLimiter, DEFAULT_ABUSE } from "../src/ratelimit.js";
import { startApp, uniqueEmail, type TestApp, type TestUser } from "./helpers/app.js";
import {
  accept,
  addMember,
  createGroup,
  createOrg,
  decline,
  expectError,
  expire,
  invite,
  rawId,
  tryInvite,
  type TestOrg,
} from "./helpers/fixtures.js";

let app: TestApp;
beforeAll(async () => {
  app = await startApp();
});
afterAll(() => app?.close());

const UPDATE_ORGANIZATION = /* GraphQL */ `
  mutation ($input: UpdateOrganizationInput!) {
    updateOrganization(input: $input) { organization { id name logoUrl seatLimit allowedEmailDomains } }
  }
`;

const CREATE_INVITATIONS = /* GraphQL */ `
  mutation ($input: CreateInvitationsInput!) {
    createInvitations(input: $input) {
      results { email token invitation { id email status version role { key } groups { name } metadata } error { code reason field message } }
    }
  }
`;

const VERSIONED = {
  revoke: `mutation ($input: RevokeInvitationInput!) { revokeInvitation(input: $input) { invitation { id status version } } }`,
  resend: `mutation ($input: ResendInvitationInput!) { resendInvitation(input: $input) { token invitation { id status version } } }`,
  delete: `mutation ($input: DeleteInvitationInput!) { deleteInvitation(input: $input) { deletedInvitationId } }`,
};

function updateOrganization(actor: TestUser, input: Record<string, unknown>) {
  return app.gql(UPDATE_ORGANIZATION, { input }, actor.token);
}

async function limit(owner: TestUser, org: TestOrg, input: Record<string, unknown>) {
  const result = await updateOrganization(owner, { organizationId: org.id, ...input });
  expect(result.errors, JSON.stringify(result.errors)).toBeUndefined();
  return result.data!.updateOrganization.organization;
}

function bulk(actor: TestUser, organizationId: string, invitations: Array<Record<string, unknown>>) {
  return app.gql(CREATE_INVITATIONS, { input: { organizationId, invitations } }, actor.token);
}

async function bulkResults(actor: TestUser, organizationId: string, invitations: Array<Record<string, unknown>>) {
  const result = await bulk(actor, organizationId, invitations);
  expect(result.errors, JSON.stringify(result.errors)).toBeUndefined();
  return result.data!.createInvitations.results as Array<{
    email: string;
    token: string | null;
    invitation: { id: string; email: string; status: string; version: number; role: { key: string }; groups: { name: string }[]; metadata: unknown } | null;
    error: { code: string; reason: string | null; field: string | null; message: string } | null;
  }>;
}

async function pendingCount(org: TestOrg): Promise<number> {
  return app.db.prisma.invitation.count({ where: { organizationId: rawId(org.id), status: "PENDING", deletedAt: null } });
}

describe("updateOrganization", () => {
  it("sets name, logo, seat limit and allowed domains; fields left out stay; null clears", async () => {
    const owner = await app.user();
    const org = await createOrg(app, owner);
    const updated = await limit(owner, org, {
      name: " Renamed ",
      logoUrl: "https://example.test/logo.png",
      seatLimit: 5,
      allowedEmailDomains: [" Example.TEST ", "example.test", "acme.example"],
    });
    expect(updated).toMatchObject({ name: "Renamed", logoUrl: "https://example.test/logo.png", seatLimit: 5, allowedEmailDomains: ["example.test", "acme.example"] });
    expect(await limit(owner, org, { seatLimit: 7 })).toMatchObject({ name: "Renamed", seatLimit: 7, allowedEmailDomains: ["example.test", "acme.example"] });
    expect(await limit(owner, org, { seatLimit: null, allowedEmailDomains: null, logoUrl: null })).toMatchObject({
      name: "Renamed",
      logoUrl: null,
      seatLimit: null,
      allowedEmailDomains: [],
    });
  });

  it("validates with the field named", async () => {
    const owner = await app.user();
    const org = await createOrg(app, owner);
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ seatLimit: 0 }, "seatLimit"],
      [{ seatLimit: -3 }, "seatLimit"],
      [{ seatLimit: 1_000_001 }, "seatLimit"],
      [{ allowedEmailDomains: ["example.test", "not a domain"] }, "allowedEmailDomains.1"],
      [{ allowedEmailDomains: ["localhost"] }, "allowedEmailDomains.0"],
      [{ allowedEmailDomains: ["@example.test"] }, "allowedEmailDomains.0"],
      [{ allowedEmailDomains: Array.from({ length: 51 }, (_, i) => `d${i}.example.test`) }, "allowedEmailDomains"],
      [{ name: "  " }, "name"],
      [{ logoUrl: "ftp://example.test/x" }, "logoUrl"],
    ];
    for (const [input, field] of cases) {
      expectError(await updateOrganization(owner, { organizationId: org.id, ...input }), { code: "BAD_USER_INPUT", field });
    }
    const stored = await app.db.prisma.organization.findUniqueOrThrow({ where: { id: rawId(org.id) } });
    expect(stored).toMatchObject({ seatLimit: null, allowedEmailDomains: [] });
  });

  it("needs organization:update: an admin is FORBIDDEN/MISSING_PERMISSION, an outsider NOT_FOUND", async () => {
    const owner = await app.user();
    const org = await createOrg(app, owner);
    const admin = await addMember(app, org, owner, "admin");
    expectError(await updateOrganization(admin, { organizationId: org.id, seatLimit: 1 }), { code: "FORBIDDEN", reason: "MISSING_PERMISSION" });
    expectError(await updateOrganization(await app.user(), { organizationId: org.id, seatLimit: 1 }), { code: "NOT_FOUND" });
    expectError(await app.gql(UPDATE_ORGANIZATION, { input: { organizationId: org.id } }, null), { code: "UNAUTHENTICATED" });
  });

  it("shows seatLimit and allowedEmailDomains to members only", async () => {
    const owner = await app.user();
    const org = await createOrg(app, owner);
    await limit(owner, org, { seatLimit: 9, allowedEmailDomains: ["example.test"] });
    const member = await addMember(app, org, owner, "member");
    const read = `query ($id: ID!) { organization(id: $id) { seatLimit allowedEmailDomains } }`;
    expect((await app.ok(read, { id: org.id }, member.token)).organization).toEqual({ seatLimit: 9, allowedEmailDomains: ["example.test"] });
    const invitee = await app.user();
    await invite(app, owner, org.id, invitee.email);
    expectError(await app.gql(read, { id: org.id }, invitee.token), { code: "FORBIDDEN", reason: "MISSING_PERMISSION" });
  });
});

describe("seat limits: members plus pending invitations", () => {
  it("refuses the invitation past the limit with CONFLICT/SEAT_LIMIT_REACHED; revoking frees a seat; expired ones hold none", async () => {
    const owner = await app.user();
    const org = await createOrg(app, owner);
    await limit(owner, org, { seatLimit: 3 }); // the owner and two invitations
    const first = await invite(app, owner, org.id, uniqueEmail("a"));
    const second = await invite(app, owner, org.id, uniqueEmail("b"));
    expectError(await tryInvite(app, owner, org.id, uniqueEmail("c")), { code: "CONFLICT", reason: "SEAT_LIMIT_REACHED" });
    expect(await pendingCount(org)).toBe(2);
    await app.ok(VERSIONED.revoke, { input: { invitationId: first.id } }, owner.token);
    await invite(app, owner, org.id, uniqueEmail("d"));
    await expire(app, second.id);
    await invite(app, owner, org.id, uniqueEmail("e"));
    expectError(await tryInvite(app, owner, org.id, uniqueEmail("f")), { code: "CONFLICT", reason: "SEAT_LIMIT_REACHED" });
  });

  it("an invitation already counted is always accepted: accepting at the limit never fails for seats", async () => {
    const owner = await app.user();
    const org = await createOrg(app, owner);
    const invitee = await app.user();
    const invitation = await invite(app, owner, org.id, invitee.email);
    await limit(owner, org, { seatLimit: 2 });
    const result = await accept(app, invitee, { invitationId: invitation.id });
    expect(result.errors).toBeUndefined();
    expect(result.data!.acceptInvitation.invitation.status).toBe("ACCEPTED");
  });

  it("may be lowered below the seats in use: everyone stays, new invitations are refused until enough leave", async () => {
    const owner = await app.user();
    const org = await createOrg(app, owner);
    const a = await invite(app, owner, org.id, uniqueEmail("a"));
    const b = await invite(app, owner, org.id, uniqueEmail("b"));
    expect((await limit(owner, org, { seatLimit: 1 })).seatLimit).toBe(1);
    expect(await pendingCount(org)).toBe(2);
    expectError(await tryInvite(app, owner, org.id, uniqueEmail("c")), { code: "CONFLICT", reason: "SEAT_LIMIT_REACHED" });
    // A pending invitation keeps its seat when resent, even over the limit.
    expect((await app.gql(VERSIONED.resend, { input: { invitationId: a.id } }, owner.token)).errors).toBeUndefined();
    await app.ok(VERSIONED.revoke, { input: { invitationId: a.id } }, owner.token);
    await app.ok(VERSIONED.revoke, { input: { invitationId: b.id } }, owner.token);
    await limit(owner, org, { seatLimit: 2 });
    await invite(app, owner, org.id, uniqueEmail("d"));
  });

  it("resending an expired invitation needs a free seat (it held none); a pending one keeps its own", async () => {
    const owner = await app.user();
    const org = await createOrg(app, owner);
    await limit(owner, org, { seatLimit: 2 });
    const old = await invite(app, owner, org.id, uniqueEmail("old"));
    await expire(app, old.id);
    const fresh = await invite(app, owner, org.id, uniqueEmail("fresh"));
    expectError(await app.gql(VERSIONED.resend, { input: { invitationId: old.id } }, owner.token), { code: "CONFLICT", reason: "SEAT_LIMIT_REACHED" });
    expect((await app.db.prisma.invitation.findUniqueOrThrow({ where: { id: rawId(old.id) } })).version).toBe(1);
    expect((await app.gql(VERSIONED.resend, { input: { invitationId: fresh.id } }, owner.token)).errors).toBeUndefined();
    await app.ok(VERSIONED.revoke, { input: { invitationId: fresh.id } }, owner.token);
    const resent = await app.ok(VERSIONED.resend, { input: { invitationId: old.id } }, owner.token);
    expect(resent.resendInvitation.invitation.status).toBe("PENDING");
  });
});

describe("allowed email domains", () => {
  it("refuses other domains with FORBIDDEN/DOMAIN_NOT_ALLOWED on create, bulk create and resend; subdomains do not match", async () => {
    const owner = await app.user();
    const org = await createOrg(app, owner);
    const before = await invite(app, owner, org.id, uniqueEmail("elsewhere").replace("example.test", "other.example"));
    await limit(owner, org, { allowedEmailDomains: ["example.test"] });
    await invite(app, owner, org.id, uniqueEmail("ok"));
    await invite(app, owner, org.id, "  MixedCase@EXAMPLE.test ");
    for (const email of ["x@other.example", "x@sub.example.test", "x@example.test.evil"]) {
      expectError(await tryInvite(app, owner, org.id, email), { code: "FORBIDDEN", reason: "DOMAIN_NOT_ALLOWED" });
    }
    const results = await bulkResults(owner, org.id, [{ email: "y@other.example" }, { email: uniqueEmail("y") }]);
    expect(results[0]!.error).toMatchObject({ code: "FORBIDDEN", reason: "DOMAIN_NOT_ALLOWED", field: null });
    expect(results[1]!.invitation?.status).toBe("PENDING");
    // An invitation sent before the restriction stays, but cannot be resent.
    expectError(await app.gql(VERSIONED.resend, { input: { invitationId: before.id } }, owner.token), { code: "FORBIDDEN", reason: "DOMAIN_NOT_ALLOWED" });
  });
});

describe("Invitation.version and expectedVersion", () => {
  it("starts at 1 and grows with resend, revoke, accept, decline and delete, not with expiry", async () => {
    const owner = await app.user();
    const org = await createOrg(app, owner);
    const invitee = await app.user();
    const version = async (id: string) => (await app.db.prisma.invitation.findUniqueOrThrow({ where: { id: rawId(id) } })).version;

    const a = await invite(app, owner, org.id, invitee.email);
    expect(await version(a.id)).toBe(1);
    await app.ok(VERSIONED.resend, { input: { invitationId: a.id } }, owner.token);
    expect(await version(a.id)).toBe(2);
    await expire(app, a.id);
    expect(await version(a.id)).toBe(2);
    const resent = await app.ok(VERSIONED.resend, { input: { invitationId: a.id, expectedVersion: 2 } }, owner.token);
    expect(resent.resendInvitation.invitation.version).toBe(3);
    await decline(app, invitee, { invitationId: a.id });
    expect(await version(a.id)).toBe(4);
    await app.ok(VERSIONED.delete, { input: { invitationId: a.id, expectedVersion: 4 } }, owner.token);
    expect(await version(a.id)).toBe(5);

    const b = await invite(app, owner, org.id, invitee.email);
    const accepted = await accept(app, invitee, { token: b.token });
    expect(accepted.errors).toBeUndefined();
    expect(await version(b.id)).toBe(2);

    const c = await invite(app, owner, org.id, uniqueEmail("c"));
    const revoked = await app.ok(VERSIONED.revoke, { input: { invitationId: c.id, expectedVersion: 1 } }, owner.token);
    expect(revoked.revokeInvitation.invitation).toMatchObject({ status: "REVOKED", version: 2 });
  });

  it("a mismatch is CONFLICT/STALE_VERSION and changes nothing, for revoke, resend and delete", async () => {
    const owner = await app.user();
    const org = await createOrg(app, owner);
    const inv = await invite(app, owner, org.id, uniqueEmail("v"));
    await app.ok(VERSIONED.resend, { input: { invitationId: inv.id } }, owner.token); // now at 2
    const before = await app.db.prisma.invitation.findUniqueOrThrow({ where: { id: rawId(inv.id) } });
    for (const mutation of Object.values(VERSIONED)) {
      expectError(await app.gql(mutation, { input: { invitationId: inv.id, expectedVersion: 1 } }, owner.token), {
        code: "CONFLICT",
        reason: "STALE_VERSION",
      });
    }
    const after = await app.db.prisma.invitation.findUniqueOrThrow({ where: { id: rawId(inv.id) } });
    expect(after).toEqual(before);
    expectError(await app.gql(VERSIONED.revoke, { input: { invitationId: inv.id, expectedVersion: 0 } }, owner.token), {
      code: "BAD_USER_INPUT",
      field: "expectedVersion",
    });
    // The right version, but the state does not allow it: the state's error.
    await app.ok(VERSIONED.revoke, { input: { invitationId: inv.id, expectedVersion: 2 } }, owner.token);
    expectError(await app.gql(VERSIONED.revoke, { input: { invitationId: inv.id, expectedVersion: 3 } }, owner.token), {
      code: "CONFLICT",
      reason: "INVITATION_NOT_PENDING",
    });
  });
});

describe("createInvitations", () => {
  it("gives one result per address in input order, each with its invitation and token or its error", async () => {
    const owner = await app.user();
    const org = await createOrg(app, owner);
    const group = await createGroup(app, owner, org.id, "Engineering");
    const member = await addMember(app, org, owner, "member");
    const pending = await invite(app, owner, org.id, uniqueEmail("pending"));
    const a = uniqueEmail("a");
    const b = uniqueEmail("b");
    const results = await bulkResults(owner, org.id, [
      { email: ` ${a.toUpperCase()} `, roleId: org.roles.admin, groupIds: [group], metadata: { team: "x" } },
      { email: "not-an-address" },
      { email: member.email },
      { email: pending.email },
      { email: b },
      { email: a },
      { email: uniqueEmail("badgroup"), groupIds: ["nope"] },
      { email: uniqueEmail("badrole"), roleId: org.id },
      { email: uniqueEmail("bigmeta"), metadata: { blob: "x".repeat(5000) } },
    ]);
    expect(results.map((r) => r.email)).toEqual([a, "not-an-address", member.email, pending.email, b, a, expect.any(String), expect.any(String), expect.any(String)]);
    expect(results[0]).toMatchObject({ error: null, invitation: { email: a, status: "PENDING", version: 1, role: { key: "admin" }, groups: [{ name: "Engineering" }], metadata: { team: "x" } } });
    expect(results[0]!.token).toMatch(/^inv_/);
    expect(results.map((r) => r.error && [r.error.code, r.error.reason, r.error.field])).toEqual([
      null,
      ["BAD_USER_INPUT", null, "invitations.1.email"],
      ["CONFLICT", "ALREADY_MEMBER", null],
      ["CONFLICT", "ALREADY_INVITED", null],
      null,
      ["CONFLICT", "ALREADY_INVITED", null],
      ["BAD_USER_INPUT", null, "invitations.6.groupIds"],
      ["BAD_USER_INPUT", null, "invitations.7.roleId"],
      ["BAD_USER_INPUT", null, "invitations.8.metadata"],
    ]);
    for (const r of results) expect(r.token === null).toBe(r.invitation === null);
    const stored = await app.db.prisma.invitation.findUniqueOrThrow({ where: { id: rawId(results[0]!.invitation!.id) }, include: { groups: true } });
    expect(stored.groups.map((g) => g.name)).toEqual(["Engineering"]);
    expect(stored.invitedById).not.toBeNull();
  });

  it("records a CREATED event and an email in the outbox for every invitation it creates, like createInvitation", async () => {
    const owner = await app.user();
    const org = await createOrg(app, owner);
    const results = await bulkResults(owner, org.id, [{ email: uniqueEmail("e1") }, { email: uniqueEmail("e2") }, { email: "bad" }]);
    const ids = results.flatMap((r) => (r.invitation ? [rawId(r.invitation.id)] : []));
    expect(ids).toHaveLength(2);
    const events = await app.db.prisma.invitationEvent.findMany({ where: { invitationId: { in: ids } } });
    expect(events.map((e) => e.type)).toEqual(["CREATED", "CREATED"]);
    const deliveries = await app.db.prisma.outboxDelivery.findMany({ where: { invitationId: { in: ids } } });
    expect(deliveries).toHaveLength(2);
    for (const d of deliveries) expect(d.destination).toBe("email");
    const single = await invite(app, owner, org.id, uniqueEmail("single"));
    const singleDelivery = await app.db.prisma.outboxDelivery.findFirstOrThrow({ where: { invitationId: rawId(single.id) } });
    expect(deliveries[0]!.status).toBe(singleDelivery.status);
    // The outbox holds each raw token until its email is sent (when it holds one at all), never another's.
    for (const r of results.filter((x) => x.invitation)) {
      const d = deliveries.find((x) => x.invitationId === rawId(r.invitation!.id))!;
      expect([null, r.token]).toContain(d.token);
    }
  });

  it("applies role escalation per address: an admin's owner invitation is FORBIDDEN/ROLE_ESCALATION, the others go", async () => {
    const owner = await app.user();
    const org = await createOrg(app, owner);
    const admin = await addMember(app, org, owner, "admin");
    const results = await bulkResults(admin, org.id, [{ email: uniqueEmail("m") }, { email: uniqueEmail("o"), roleId: org.roles.owner }]);
    expect(results[0]!.invitation?.role.key).toBe("member");
    expect(results[1]!.error).toMatchObject({ code: "FORBIDDEN", reason: "ROLE_ESCALATION" });
  });

  it("fills the seats in input order: later addresses get SEAT_LIMIT_REACHED", async () => {
    const owner = await app.user();
    const org = await createOrg(app, owner);
    await limit(owner, org, { seatLimit: 3 });
    const results = await bulkResults(owner, org.id, [
      { email: uniqueEmail("1") },
      { email: "broken" },
      { email: uniqueEmail("2") },
      { email: uniqueEmail("3") },
      { email: uniqueEmail("4") },
    ]);
    expect(results.map((r) => r.error?.reason ?? r.error?.code ?? "created")).toEqual([
      "created",
      "BAD_USER_INPUT",
      "created",
      "SEAT_LIMIT_REACHED",
      "SEAT_LIMIT_REACHED",
    ]);
    expect(await pendingCount(org)).toBe(2);
  });

  it("fails as a whole without invitations:create, for an unknown organization, or with 0 or over 100 addresses", async () => {
    const owner = await app.user();
    const org = await createOrg(app, owner);
    const member = await addMember(app, org, owner, "member");
    expectError(await bulk(member, org.id, [{ email: uniqueEmail() }]), { code: "FORBIDDEN", reason: "MISSING_PERMISSION" });
    expectError(await bulk(await app.user(), org.id, [{ email: uniqueEmail() }]), { code: "NOT_FOUND" });
    expectError(await bulk(owner, org.id, []), { code: "BAD_USER_INPUT", field: "invitations" });
    const many = Array.from({ length: 101 }, (_, i) => ({ email: uniqueEmail(`n${i}`) }));
    expectError(await bulk(owner, org.id, many), { code: "BAD_USER_INPUT" });
    expect(await pendingCount(org)).toBe(0);
  });
});

describe("createInvitations and the creation budgets", () => {
  let limited: TestApp;
  beforeAll(async () => {
    const limiter = createRateLimiter({
      store: createMemoryStore(),
      max: 10_000,
      windowMs: 60_000,
      logger: createLogger("silent"),
      abuse: { ...DEFAULT_ABUSE, invitations: { perUser: 3, perOrganization: 500, windowMs: 60_000 } },
    });
    limited = await startApp({ rateLimiter: limiter });
  });
  afterAll(() => limited?.close());

  it("spends one unit per address: past the budget, that address and the later ones are RATE_LIMITED, the earlier ones created", async () => {
    const owner = await limited.user();
    const org = await createOrg(limited, owner);
    const result = await limited.gql(
      CREATE_INVITATIONS,
      { input: { organizationId: org.id, invitations: [{ email: "bad" }, ...Array.from({ length: 4 }, (_, i) => ({ email: uniqueEmail(`r${i}`) }))] } },
      owner.token,
    );
    expect(result.errors).toBeUndefined();
    const results = result.data!.createInvitations.results as Array<{ invitation: unknown; error: { code: string } | null }>;
    expect(results.map((r) => r.error?.code ?? "created")).toEqual(["BAD_USER_INPUT", "created", "created", "created", "RATE_LIMITED"]);
    expectError(await tryInvite(limited, owner, org.id, uniqueEmail("after")), { code: "RATE_LIMITED" });
  });
});

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { randomBytes } from "node:crypto";
import { startApp, uniqueEmail, type TestApp, type TestUser } from "./helpers/app.js";
import { addMember, createOrg, expectError, invite, rawId, type TestOrg } from "./helpers/fixtures.js";

let app: TestApp;
beforeAll(async () => {
  app = await startApp();
});
afterAll(() => app?.close());

const PAGE = /* GraphQL */ `
  query ($id: ID!, $first: Int, $after: String, $last: Int, $before: String) {
    organization(id: $id) {
      invitations(first: $first, after: $after, last: $last, before: $before) {
        totalCount
        edges { cursor node { id } }
        pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
      }
    }
  }
`;

interface Page {
  totalCount: number;
  edges: Array<{ cursor: string; node: { id: string } }>;
  pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean; startCursor: string | null; endCursor: string | null };
}

async function page(viewer: TestUser, org: TestOrg, args: { first?: number; after?: string; last?: number; before?: string } = {}): Promise<Page> {
  return (await app.ok(PAGE, { id: org.id, ...args }, viewer.token)).organization.invitations;
}

/** Rows straight into the database, `n` of them, for lists longer than a test should build through the API. */
async function seedInvitations(org: TestOrg, n: number, createdAt?: Date): Promise<void> {
  const organizationId = rawId(org.id);
  const roleId = rawId(org.roles.member);
  const expiresAt = new Date(Date.now() + 7 * 24 * 3600_000);
  await app.db.prisma.invitation.createMany({
    data: Array.from({ length: n }, () => ({
      organizationId,
      roleId,
      email: uniqueEmail("seed"),
      tokenHash: randomBytes(32).toString("hex"),
      expiresAt,
      ...(createdAt ? { createdAt } : {}),
    })),
  });
}

/** Every invitation of the organization in contract order: newest first, ties by id (descending). */
async function expectedOrder(org: TestOrg): Promise<string[]> {
  const rows = await app.db.prisma.invitation.findMany({
    where: { organizationId: rawId(org.id), deletedAt: null },
    select: { id: true, createdAt: true },
  });
  rows.sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime() || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
  return rows.map((r) => Buffer.from(`Invitation:${r.id}`).toString("base64url"));
}

describe("page size", () => {
  it("first defaults to 20", async () => {
    const owner = await app.user();
    const org = await createOrg(app, owner);
    await seedInvitations(org, 25);
    const result = await page(owner, org);
    expect(result.edges).toHaveLength(20);
    expect(result.totalCount).toBe(25);
    expect(result.pageInfo.hasNextPage).toBe(true);
  });

  it("first may be 100 and no more: 101 is BAD_USER_INPUT on field first", async () => {
    const owner = await app.user();
    const org = await createOrg(app, owner);
    await seedInvitations(org, 105);
    const hundred = await page(owner, org, { first: 100 });
    expect(hundred.edges).toHaveLength(100);
    expect(hundred.pageInfo.hasNextPage).toBe(true);
    const result = await app.gql(PAGE, { id: org.id, first: 101 }, owner.token);
    expectError(result, { code: "BAD_USER_INPUT", field: "first" });
  });

  it("refuses a negative first, and last outside 0..100, naming the argument", async () => {
    const owner = await app.user();
    const org = await createOrg(app, owner);
    expectError(await app.gql(PAGE, { id: org.id, first: -1 }, owner.token), { code: "BAD_USER_INPUT", field: "first" });
    expectError(await app.gql(PAGE, { id: org.id, last: 101 }, owner.token), { code: "BAD_USER_INPUT", field: "last" });
    expectError(await app.gql(`{ pendingInvitations(first: 1000) { totalCount } }`, {}, owner.token), { code: "BAD_USER_INPUT", field: "first" });
    expectError(await app.gql(`{ viewer { memberships(first: -5) { totalCount } } }`, {}, owner.token), { code: "BAD_USER_INPUT", field: "first" });
  });

  it("checks first on nested connections too (members)", async () => {
    const owner = await app.user();
    const org = await createOrg(app, owner);
    const result = await app.gql(`query ($id: ID!) { organization(id: $id) { members(first: 101) { totalCount } } }`, { id: org.id }, owner.token);
    expectError(result, { code: "BAD_USER_INPUT", field: "first" });
  });
});

describe("cursors", () => {
  it("refuses a malformed cursor with BAD_USER_INPUT on field after, never an internal error", async () => {
    const owner = await app.user();
    const org = await createOrg(app, owner);
    await invite(app, owner, org.id, uniqueEmail());
    const bad = [
      "garbage",
      "!!!",
      Buffer.from("GPC:S:not-a-uuid").toString("base64"),
      Buffer.from("GPC:N:12").toString("base64"),
      Buffer.from("Invitation:0190c8a0-0000-7000-8000-000000000000").toString("base64"),
    ];
    for (const after of bad) {
      const result = await app.gql(PAGE, { id: org.id, first: 5, after }, owner.token);
      expect(result.errors?.[0]?.extensions, after).toMatchObject({ code: "BAD_USER_INPUT", field: "after" });
    }
    const before = await app.gql(PAGE, { id: org.id, last: 5, before: "garbage" }, owner.token);
    expect(before.errors?.[0]?.extensions).toMatchObject({ code: "BAD_USER_INPUT", field: "before" });
  });
});

describe("walking pages", () => {
  it("returns every item once, in order, with pageInfo following the Relay spec", async () => {
    const owner = await app.user();
    const org = await createOrg(app, owner);
    await seedInvitations(org, 5);
    for (let i = 0; i < 5; i += 1) await invite(app, owner, org.id, uniqueEmail(`p${i}`));
    await seedInvitations(org, 15);
    const all = await expectedOrder(org);
    expect(all).toHaveLength(25);

    const seen: string[] = [];
    let after: string | undefined;
    const pages: Page[] = [];
    for (;;) {
      const result = await page(owner, org, { first: 10, after });
      pages.push(result);
      expect(result.totalCount).toBe(25);
      expect(result.pageInfo.startCursor).toBe(result.edges[0]?.cursor ?? null);
      expect(result.pageInfo.endCursor).toBe(result.edges.at(-1)?.cursor ?? null);
      seen.push(...result.edges.map((e) => e.node.id));
      if (!result.pageInfo.hasNextPage) break;
      after = result.pageInfo.endCursor!;
    }
    expect(pages.map((p) => p.edges.length)).toEqual([10, 10, 5]);
    expect(pages[0]!.pageInfo.hasPreviousPage).toBe(false);
    expect(seen).toEqual(all);
  });

  it("pages backwards with last/before in the same order", async () => {
    const owner = await app.user();
    const org = await createOrg(app, owner);
    await seedInvitations(org, 12);
    const all = await expectedOrder(org);
    const full = await page(owner, org, { first: 12 });
    const cursorOf = (id: string) => full.edges.find((e) => e.node.id === id)!.cursor;

    const lastThree = await page(owner, org, { last: 3 });
    expect(lastThree.edges.map((e) => e.node.id)).toEqual(all.slice(9));
    expect(lastThree.pageInfo.hasPreviousPage).toBe(true);
    expect(lastThree.pageInfo.hasNextPage).toBe(false);

    const beforeEighth = await page(owner, org, { last: 4, before: cursorOf(all[7]!) });
    expect(beforeEighth.edges.map((e) => e.node.id)).toEqual(all.slice(3, 7));
    expect(beforeEighth.pageInfo.hasPreviousPage).toBe(true);
    expect(beforeEighth.pageInfo.startCursor).toBe(beforeEighth.edges[0]!.cursor);
    expect(beforeEighth.pageInfo.endCursor).toBe(beforeEighth.edges[3]!.cursor);
  });

  it("keeps a stable order when many rows share createdAt (ties by id), across pages", async () => {
    const owner = await app.user();
    const org = await createOrg(app, owner);
    const instant = new Date("2030-01-01T00:00:00.000Z");
    await seedInvitations(org, 13, instant);
    const all = await expectedOrder(org);
    const ids = all.map((id) => Buffer.from(id, "base64url").toString().slice("Invitation:".length));
    expect([...ids].sort().reverse()).toEqual(ids);

    const seen: string[] = [];
    let after: string | undefined;
    for (let guard = 0; guard < 10; guard += 1) {
      const result = await page(owner, org, { first: 3, after });
      seen.push(...result.edges.map((e) => e.node.id));
      if (!result.pageInfo.hasNextPage) break;
      after = result.pageInfo.endCursor!;
    }
    expect(seen).toEqual(all);
    // The same request twice gives the same page.
    expect(await page(owner, org, { first: 5 })).toEqual(await page(owner, org, { first: 5 }));
  });

  it("an empty connection has no cursors and no pages", async () => {
    const owner = await app.user();
    const org = await createOrg(app, owner);
    expect(await page(owner, org)).toEqual({
      totalCount: 0,
      edges: [],
      pageInfo: { hasNextPage: false, hasPreviousPage: false, startCursor: null, endCursor: null },
    });
  });

  it("totalCount counts the whole filtered list, not the page", async () => {
    const owner = await app.user();
    const org = await createOrg(app, owner);
    await seedInvitations(org, 7);
    const result = await page(owner, org, { first: 2 });
    expect(result.edges).toHaveLength(2);
    expect(result.totalCount).toBe(7);
  });
});

describe("other connections", () => {
  it("members page newest first with working cursors", async () => {
    const owner = await app.user();
    const org = await createOrg(app, owner);
    const a = await addMember(app, org, owner);
    const b = await addMember(app, org, owner);
    const MEMBERS = /* GraphQL */ `
      query ($id: ID!, $after: String) {
        organization(id: $id) { members(first: 2, after: $after) { totalCount edges { node { user { email } } } pageInfo { hasNextPage endCursor } } }
      }
    `;
    const first = (await app.ok(MEMBERS, { id: org.id }, owner.token)).organization.members;
    expect(first.totalCount).toBe(3);
    expect(first.edges.map((e: any) => e.node.user.email)).toEqual([b.email, a.email]);
    expect(first.pageInfo.hasNextPage).toBe(true);
    const second = (await app.ok(MEMBERS, { id: org.id, after: first.pageInfo.endCursor }, owner.token)).organization.members;
    expect(second.edges.map((e: any) => e.node.user.email)).toEqual([owner.email]);
    expect(second.pageInfo.hasNextPage).toBe(false);
  });

  it("pendingInvitations pages across organizations with working cursors", async () => {
    const owner = await app.user();
    const invitee = await app.user();
    const ids: string[] = [];
    for (let i = 0; i < 3; i += 1) {
      const org = await createOrg(app, owner);
      ids.unshift((await invite(app, owner, org.id, invitee.email)).id);
    }
    const PENDING = /* GraphQL */ `
      query ($after: String) { pendingInvitations(first: 2, after: $after) { totalCount edges { node { id } } pageInfo { hasNextPage endCursor } } }
    `;
    const first = (await app.ok(PENDING, {}, invitee.token)).pendingInvitations;
    expect(first.totalCount).toBe(3);
    expect(first.pageInfo.hasNextPage).toBe(true);
    const second = (await app.ok(PENDING, { after: first.pageInfo.endCursor }, invitee.token)).pendingInvitations;
    expect(second.pageInfo.hasNextPage).toBe(false);
    expect([...first.edges, ...second.edges].map((e: any) => e.node.id)).toEqual(ids);
  });
});

/**
 * Each list costs a fixed number of SQL statements: the same at page sizes 5 and 100, on the first page and on a
 * page after a cursor, in a list of 120 rows and in one of 300. A change that makes any of them grow with the page,
 * the position or the data fails here. (Speed itself is the benchmark's business: `npm run bench`.)
 */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { uuidv7 } from "../src/ids.js";
import { startApp, uniqueEmail, type TestApp, type TestUser } from "./helpers/app.js";
import { createOrg } from "./helpers/fixtures.js";

let app: TestApp;
const SIZES = [120, 300] as const;

interface Fixture {
  size: number;
  /** Owner of the organization below, and admin of the `size` organizations that invited the invitee. */
  owner: TestUser;
  /** Invited by `size` organizations, and a member of each of them. */
  invitee: TestUser;
  /** `size` invitations and `size + 1` members. */
  orgId: string;
}
const fixtures: Fixture[] = [];

/** Bulk rows straight into the database: building hundreds of rows through the API would take minutes. */
async function seed(size: number): Promise<Fixture> {
  const owner = await app.user({ name: "Owner" });
  const invitee = await app.user({ name: "Invitee" });
  const org = await createOrg(app, owner);
  await app.ok(`{ viewer { id } }`, {}, invitee.token);
  const prisma = app.db.prisma;
  const organizationId = Buffer.from(org.id, "base64url").toString().split(":")[1]!;
  const memberRoleId = Buffer.from(org.roles.member, "base64url").toString().split(":")[1]!;
  const ownerRow = await prisma.user.findUniqueOrThrow({ where: { sub: owner.sub } });
  const inviteeRow = await prisma.user.findUniqueOrThrow({ where: { sub: invitee.sub } });
  const group = await prisma.group.create({ data: { organizationId, name: "Everyone" } });
  const expiresAt = new Date(Date.now() + 86_400_000);
  const start = Date.now() - size * 1000;
  const at = (i: number) => new Date(start + i * 1000);

  const users = Array.from({ length: size }, (_, i) => ({ id: uuidv7(), sub: `bulk|${uuidv7()}`, email: uniqueEmail(`m${i}`), name: `Member ${i}` }));
  await prisma.user.createMany({ data: users });
  const memberships = users.map((u, i) => ({ id: uuidv7(), userId: u.id, organizationId, roleId: memberRoleId, createdAt: at(i) }));
  await prisma.membership.createMany({ data: memberships });
  const invitations = Array.from({ length: size }, (_, i) => ({
    id: uuidv7(),
    organizationId,
    email: uniqueEmail(`inv${i}`),
    roleId: memberRoleId,
    invitedById: ownerRow.id,
    tokenHash: uuidv7(),
    expiresAt,
    metadata: { n: i },
    createdAt: at(i),
  }));
  await prisma.invitation.createMany({ data: invitations });
  const session = await app.db.session();
  try {
    await session.query(`INSERT INTO "_InvitationGroups" ("A", "B") SELECT $1::uuid, unnest($2::uuid[])`, [group.id, invitations.map((r) => r.id)]);
    await session.query(`INSERT INTO "_MembershipGroups" ("A", "B") SELECT $1::uuid, unnest($2::uuid[])`, [group.id, memberships.map((r) => r.id)]);
  } finally {
    await session.release();
  }

  // `size` organizations that each invited the invitee, who is also a member of each (for the memberships list).
  const others = Array.from({ length: size }, (_, i) => ({ id: uuidv7(), name: `Inviter ${i}`, slug: `inviter-${uuidv7()}`, createdAt: at(i) }));
  await prisma.organization.createMany({ data: others });
  const roles = others.map((o) => ({ id: uuidv7(), organizationId: o.id, key: "member", name: "Member", permissions: ["members:read"] }));
  await prisma.role.createMany({ data: roles });
  await prisma.membership.createMany({
    data: roles.map((r, i) => ({ userId: inviteeRow.id, organizationId: r.organizationId, roleId: r.id, createdAt: at(i) })),
  });
  // The owner administers each of them too (invitations:read), for viewer.managedInvitations across organizations.
  const adminRoles = others.map((o) => ({ id: uuidv7(), organizationId: o.id, key: "admin", name: "Admin", permissions: ["members:read", "invitations:read"] }));
  await prisma.role.createMany({ data: adminRoles });
  await prisma.membership.createMany({
    data: adminRoles.map((r, i) => ({ userId: ownerRow.id, organizationId: r.organizationId, roleId: r.id, createdAt: at(i) })),
  });
  await prisma.invitation.createMany({
    data: roles.map((r, i) => ({
      organizationId: r.organizationId,
      email: invitee.email,
      roleId: r.id,
      invitedById: ownerRow.id,
      tokenHash: uuidv7(),
      expiresAt,
      createdAt: at(i),
    })),
  });
  return { size, owner, invitee, orgId: org.id };
}

beforeAll(async () => {
  app = await startApp();
  for (const size of SIZES) fixtures.push(await seed(size));
}, 180_000);
afterAll(() => app.close());

interface Measured {
  statements: number;
  edges: number;
  endCursor: string | null;
}

/** Runs `query` and returns its statement count with the connection found at `path`. */
async function measure(query: string, variables: Record<string, unknown>, token: string, path: string[]): Promise<Measured> {
  let data: any;
  const { count } = await app.countQueries(async () => {
    data = await app.ok(query, variables, token);
  });
  const connection = path.reduce((value, key) => value[key], data);
  return { statements: count, edges: connection.edges.length, endCursor: connection.pageInfo.endCursor };
}

/**
 * Every combination of list size, page size (5, 100) and page (first, after the first page's end), all with the
 * same statement count `expected`.
 */
async function expectFixedCost(
  list: (f: Fixture) => { query: string; variables: Record<string, unknown>; token: string; path: string[]; rows: number },
  expected: number,
) {
  const seen: string[] = [];
  for (const fixture of fixtures) {
    const { query, variables, token, path, rows } = list(fixture);
    for (const first of [5, 100]) {
      const page1 = await measure(query, { ...variables, first }, token, path);
      const page2 = await measure(query, { ...variables, first, after: page1.endCursor }, token, path);
      expect(page1.edges, `${rows} rows, first ${first}`).toBe(Math.min(first, rows));
      expect(page2.edges, `${rows} rows, first ${first}, second page`).toBe(Math.min(first, rows - first));
      seen.push(`${rows} rows, first: ${first}: ${page1.statements} then ${page2.statements}`);
    }
  }
  expect(seen).toEqual(
    fixtures.flatMap((f) => [5, 100].map((first) => `${list(f).rows} rows, first: ${first}: ${expected} then ${expected}`)),
  );
}

const INVITATION_FIELDS = /* GraphQL */ `
  totalCount
  pageInfo { hasNextPage endCursor }
  edges { cursor node {
    id email status expiresAt metadata
    role { key permissions } groups { name }
    organization { id name slug logoUrl memberCount }
    invitedBy { id name avatarUrl }
    invitee { id name }
  } }
`;

const MEMBERSHIP_FIELDS = /* GraphQL */ `
  totalCount
  pageInfo { hasNextPage endCursor }
  edges { cursor node { id createdAt role { key } groups { name } user { id name avatarUrl } organization { name memberCount } } }
`;

beforeAll(async () => {
  // Warm up each viewer, so that the counts below do not include the first request's user upsert.
  for (const f of fixtures) {
    await app.ok(`{ viewer { id } }`, {}, f.owner.token);
    await app.ok(`{ viewer { id } }`, {}, f.invitee.token);
  }
});

describe("each list's statement count is fixed: page size 5 or 100, first or second page, 120 or 300 rows", () => {
  // The page's keys, count and rows with their relations (one statement), the invitee look-up (one).
  test("pendingInvitations", async () => {
    await expectFixedCost(
      (f) => ({
        query: `query ($first: Int, $after: String) { pendingInvitations(first: $first, after: $after) { ${INVITATION_FIELDS} } }`,
        variables: {},
        token: f.invitee.token,
        path: ["pendingInvitations"],
        rows: f.size,
      }),
      2,
    );
  });

  // The viewer, then as above.
  test("viewer.pendingInvitations", async () => {
    await expectFixedCost(
      (f) => ({
        query: `query ($first: Int, $after: String) { viewer { pendingInvitations(first: $first, after: $after) { ${INVITATION_FIELDS} } } }`,
        variables: {},
        token: f.invitee.token,
        path: ["viewer", "pendingInvitations"],
        rows: f.size,
      }),
      3,
    );
  });

  // The viewer's memberships (the permission check), then as above: the organization itself is not read when the
  // selection needs only its id and lists (src/schema/organization.ts).
  test("organization.invitations", async () => {
    await expectFixedCost(
      (f) => ({
        query: `query ($id: ID!, $first: Int, $after: String) { organization(id: $id) { invitations(first: $first, after: $after, status: [PENDING]) { ${INVITATION_FIELDS} } } }`,
        variables: { id: f.orgId },
        token: f.owner.token,
        path: ["organization", "invitations"],
        rows: f.size,
      }),
      3,
    );
  });

  // The viewer, the viewer's memberships (which organizations they hold invitations:read in), the page's keys and
  // count and rows with their relations over all of them (one statement), the invitee look-up.
  test("viewer.managedInvitations, across 1 + 120 or 1 + 300 organizations", async () => {
    await expectFixedCost(
      (f) => ({
        query: `query ($first: Int, $after: String) { viewer { managedInvitations(first: $first, after: $after, status: [PENDING]) { ${INVITATION_FIELDS} } } }`,
        variables: {},
        token: f.owner.token,
        path: ["viewer", "managedInvitations"],
        rows: 2 * f.size,
      }),
      4,
    );
  });

  // The viewer's memberships, the page's keys, count and rows (one statement).
  test("organization.members", async () => {
    await expectFixedCost(
      (f) => ({
        query: `query ($id: ID!, $first: Int, $after: String) { organization(id: $id) { members(first: $first, after: $after) { ${MEMBERSHIP_FIELDS} } } }`,
        variables: { id: f.orgId },
        token: f.owner.token,
        path: ["organization", "members"],
        rows: f.size + 1,
      }),
      2,
    );
  });

  // The viewer, the page's keys, count and rows (one statement).
  test("viewer.memberships", async () => {
    await expectFixedCost(
      (f) => ({
        query: `query ($first: Int, $after: String) { viewer { memberships(first: $first, after: $after) { ${MEMBERSHIP_FIELDS} } } }`,
        variables: {},
        token: f.invitee.token,
        path: ["viewer", "memberships"],
        rows: f.size,
      }),
      2,
    );
  });
});

describe("the viewer's user row", () => {
  test("is written on the first request and not touched again while the claims are unchanged", async () => {
    const newcomer = await app.user({ name: "Newcomer" });
    const first = await app.countQueries(() => app.ok(`{ viewer { id } }`, {}, newcomer.token));
    const second = await app.countQueries(() => app.ok(`{ viewer { id } }`, {}, newcomer.token));
    expect(first.statements.some((sql) => /INSERT INTO "User"/.test(sql))).toBe(true);
    expect(second.statements.some((sql) => /INSERT INTO "User"/.test(sql))).toBe(false);
    expect(second.count).toBe(first.count - 1);
  });
});


describe("createInvitation", () => {
  // The viewer's memberships (the permission check) and the organization's member role (the default) in one
  // statement, then ONE statement outside any transaction (no BEGIN, no COMMIT; both would be counted): the address
  // and organization locks and the checks (invitation_address_checks), the invitation with its groups, its event,
  // its email delivery and its webhook deliveries (whatever the number of endpoints).
  test("costs 2 statements, its writes in one statement without a transaction", async () => {
    const { owner, orgId } = fixtures[0]!;
    const mutation = `mutation ($input: CreateInvitationInput!) { createInvitation(input: $input) { invitation { id email status } token } }`;
    await app.ok(mutation, { input: { organizationId: orgId, email: uniqueEmail("warm") } }, owner.token);
    const { count, statements } = await app.countQueries(() =>
      app.ok(mutation, { input: { organizationId: orgId, email: uniqueEmail("c") } }, owner.token),
    );
    expect(count, statements.join("\n")).toBe(2);
    expect(statements.filter((sql) => /^\s*(INSERT|UPDATE|DELETE|WITH)/i.test(sql))).toHaveLength(1);
    expect(statements.at(-1)).toMatch(/invitation_address_checks/);
    expect(statements.some((sql) => /^\s*(BEGIN|COMMIT)/i.test(sql))).toBe(false);
  });
});

describe("createInvitations", () => {
  // The viewer's memberships (the permission check), the groups of every address (one statement), the default role,
  // then one transaction: BEGIN, every address lock and the organization's row with, after them, retiring expired
  // invitations and the member, pending and seat checks of every address (one statement, invitation_address_checks),
  // the invitations' insert, their group links, their events and emails (one), COMMIT. The same for 10 addresses as
  // for 100.
  test("costs the same 9 statements for 10 addresses as for 100, its writes in one transaction", async () => {
    const { owner, orgId } = fixtures[0]!;
    const group = await app.db.prisma.group.findFirstOrThrow({ where: { organizationId: Buffer.from(orgId, "base64url").toString().split(":")[1]! } });
    const groupId = Buffer.from(`Group:${group.id}`).toString("base64url");
    const mutation = `mutation ($input: CreateInvitationsInput!) {
      createInvitations(input: $input) { results { email token invitation { id email status version } error { code reason } } }
    }`;
    const run = async (size: number) => {
      let data: any;
      const invitations = Array.from({ length: size }, (_, i) => ({ email: uniqueEmail(`bulk${i}`), groupIds: [groupId], metadata: { i } }));
      const measured = await app.countQueries(async () => {
        data = await app.ok(mutation, { input: { organizationId: orgId, invitations } }, owner.token);
      });
      expect(data.createInvitations.results.filter((r: any) => r.invitation)).toHaveLength(size);
      return measured;
    };
    await run(2);
    const ten = await run(10);
    const hundred = await run(100);
    expect(ten.count, ten.statements.join("\n")).toBe(9);
    expect(hundred.count, hundred.statements.join("\n")).toBe(9);
    expect(hundred.statements.filter((sql) => /^\s*(INSERT|UPDATE|DELETE|WITH)/i.test(sql))).toHaveLength(3);
    expect(hundred.statements.at(-1)).toMatch(/COMMIT/);
  });
});

describe("organization(id) answered from its id", () => {
  // The shortcut holds only for selections that need nothing of the row: any other field reads it, and an outsider
  // is still refused by the rule before the resolver runs.
  test("reads the row when a field needs it; refuses an outsider either way", async () => {
    const { owner, orgId } = fixtures[0]!;
    const lists = `query ($id: ID!) { organization(id: $id) { id ... on Organization { invitations(first: 1) { totalCount } } } }`;
    const named = `query ($id: ID!) { organization(id: $id) { id ...F } } fragment F on Organization { name invitations(first: 1) { totalCount } }`;
    const idOnly = await app.countQueries(() => app.ok(lists, { id: orgId }, owner.token));
    let data: any;
    const withName = await app.countQueries(async () => {
      data = await app.ok(named, { id: orgId }, owner.token);
    });
    expect(withName.count).toBe(idOnly.count + 1);
    expect(data.organization.name).toEqual(expect.any(String));
    const outsider = await app.user();
    await app.ok(`{ viewer { id } }`, {}, outsider.token);
    const refused = await app.gql(lists, { id: orgId }, outsider.token);
    expect(refused.errors?.[0]?.extensions?.code).toBe("NOT_FOUND");
  });
});

/**
 * No list's SQL statement count grows with the page size: the same operation at first: 5 and first: 100 sends the
 * same number of statements (relations are joined, counts and permission facts come from per-request loaders).
 */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { uuidv7 } from "../src/ids.js";
import { startApp, uniqueEmail, type TestApp, type TestUser } from "./helpers/app.js";

let app: TestApp;
let owner: TestUser;
let invitee: TestUser;
let orgId: string;

const ROWS = 120;
/** Viewer upsert, viewer's memberships, the list with its joins, totalCount, memberCount, emails: measured 5-6. */
const MAX_STATEMENTS = 7;

beforeAll(async () => {
  app = await startApp();
  owner = await app.user({ name: "Owner" });
  invitee = await app.user({ name: "Invitee" });
  const created = await app.ok(
    `mutation { createOrganization(input: { name: "Counting Co" }) { organization { id } } }`,
    {},
    owner.token,
  );
  orgId = created.createOrganization.organization.id;
  await app.ok(`{ viewer { id } }`, {}, invitee.token);

  // Bulk fixtures straight into the database: 120 members and 120 invitations in one organization, and 120
  // organizations that each invited the same address.
  const prisma = app.db.prisma;
  const org = await prisma.organization.findFirstOrThrow({ where: { name: "Counting Co", memberships: { some: { user: { sub: owner.sub } } } } });
  const memberRole = await prisma.role.findFirstOrThrow({ where: { organizationId: org.id, key: "member" } });
  const ownerRow = await prisma.user.findUniqueOrThrow({ where: { sub: owner.sub } });
  const group = await prisma.group.create({ data: { organizationId: org.id, name: "Everyone" } });
  const users = Array.from({ length: ROWS }, (_, i) => ({ id: uuidv7(), sub: `bulk|${uuidv7()}`, email: uniqueEmail(`m${i}`), name: `Member ${i}` }));
  await prisma.user.createMany({ data: users });
  for (const u of users) {
    await prisma.membership.create({ data: { userId: u.id, organizationId: org.id, roleId: memberRole.id, groups: { connect: { id: group.id } } } });
  }
  const expiresAt = new Date(Date.now() + 86_400_000);
  for (let i = 0; i < ROWS; i += 1) {
    await prisma.invitation.create({
      data: {
        organizationId: org.id,
        email: uniqueEmail(`inv${i}`),
        roleId: memberRole.id,
        invitedById: ownerRow.id,
        tokenHash: uuidv7(),
        expiresAt,
        groups: { connect: { id: group.id } },
      },
    });
  }
  for (let i = 0; i < ROWS; i += 1) {
    const other = await prisma.organization.create({
      data: { name: `Inviter ${i}`, slug: `inviter-${uuidv7()}`, roles: { create: { key: "member", name: "Member", permissions: ["members:read"] } } },
      include: { roles: true },
    });
    await prisma.invitation.create({
      data: { organizationId: other.id, email: invitee.email, roleId: other.roles[0]!.id, invitedById: ownerRow.id, tokenHash: uuidv7(), expiresAt },
    });
  }
}, 180_000);
afterAll(() => app.close());

async function statements(query: string, variables: Record<string, unknown>, token: string, expectedEdges: number) {
  let data: any;
  const { count } = await app.countQueries(async () => {
    data = await app.ok(query, variables, token);
  });
  const connection = Object.values(data).flatMap((v: any) => (v.edges ? [v] : Object.values(v).filter((x: any) => x?.edges)))[0] as any;
  expect(connection.edges).toHaveLength(expectedEdges);
  return count;
}

const INVITATION_FIELDS = /* GraphQL */ `
  totalCount
  pageInfo { hasNextPage endCursor }
  edges { cursor node {
    id email status expiresAt metadata
    role { key permissions } groups { name }
    organization { id name slug logoUrl memberCount }
    invitedBy { id name avatarUrl email }
    invitee { id name }
  } }
`;

describe("statement counts do not grow with page size", () => {
  test("the viewer's pendingInvitations", async () => {
    const query = `query ($first: Int) { pendingInvitations(first: $first) { ${INVITATION_FIELDS} } }`;
    const five = await statements(query, { first: 5 }, invitee.token, 5);
    const hundred = await statements(query, { first: 100 }, invitee.token, 100);
    expect(hundred).toBe(five);
    expect(five).toBeLessThanOrEqual(MAX_STATEMENTS);
  });

  test("an organization's invitations", async () => {
    const query = `query ($id: ID!, $first: Int) { organization(id: $id) { invitations(first: $first, status: [PENDING]) { ${INVITATION_FIELDS} } } }`;
    const five = await statements(query, { id: orgId, first: 5 }, owner.token, 5);
    const hundred = await statements(query, { id: orgId, first: 100 }, owner.token, 100);
    expect(hundred).toBe(five);
    expect(five).toBeLessThanOrEqual(MAX_STATEMENTS);
  });

  test("an organization's members", async () => {
    const query = /* GraphQL */ `
      query ($id: ID!, $first: Int) {
        organization(id: $id) {
          members(first: $first) {
            totalCount
            pageInfo { hasNextPage }
            edges { node { id createdAt role { key } groups { name } user { id name email avatarUrl } organization { name memberCount } } }
          }
        }
      }`;
    const five = await statements(query, { id: orgId, first: 5 }, owner.token, 5);
    const hundred = await statements(query, { id: orgId, first: 100 }, owner.token, 100);
    expect(hundred).toBe(five);
    expect(five).toBeLessThanOrEqual(MAX_STATEMENTS);
  });

  test("the viewer's memberships", async () => {
    const query = `query ($first: Int) { viewer { memberships(first: $first) { totalCount edges { node { role { key } organization { name memberCount viewerMembership { id } } } } } } }`;
    const one = await statements(query, { first: 5 }, owner.token, 1);
    const again = await statements(query, { first: 100 }, owner.token, 1);
    expect(again).toBe(one);
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

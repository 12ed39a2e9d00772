/**
 * The data invariants of src/db/invariants.ts detect what they claim to: on a throwaway migrated database, each
 * check is silent on a consistent organization and reports exactly the row that breaks it in an organization made to
 * break it (written with raw SQL, since the API cannot produce these states), and nothing outside its scope.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { SqlSession } from "../src/db/client.js";
import { checkInvariants, INVARIANTS } from "../src/db/invariants.js";
import { migrate } from "../src/db/migrate.js";
import { createEmptyDatabase, type EmptyDatabase } from "./helpers/databases.js";

let database: EmptyDatabase;
let sql: SqlSession;

beforeAll(async () => {
  database = await createEmptyDatabase();
  sql = await database.session();
  await migrate(sql);
  // Only so that one test can store the duplicate the partial unique index exists to refuse.
  await sql.exec(`DROP INDEX "Invitation_one_pending_per_email"`);
});
afterAll(() => database.drop());

type Status = "PENDING" | "ACCEPTED" | "DECLINED" | "REVOKED" | "EXPIRED";

/** A consistent organization: a founder (owner), roles, two groups, and one member who joined by invitation. */
async function organization() {
  const id = randomUUID();
  await sql.query(`INSERT INTO "Organization" ("id", "name", "slug", "updatedAt") VALUES ($1, 'Org', $2, now())`, [id, `org-${id}`]);
  const roles: Record<"owner" | "admin" | "member", string> = { owner: randomUUID(), admin: randomUUID(), member: randomUUID() };
  for (const [key, roleId] of Object.entries(roles)) {
    await sql.query(`INSERT INTO "Role" ("id", "organizationId", "key", "name", "permissions") VALUES ($1, $2, $3, $3, '{}')`, [roleId, id, key]);
  }
  const groups = [randomUUID(), randomUUID()];
  for (const [index, groupId] of groups.entries()) {
    await sql.query(`INSERT INTO "Group" ("id", "organizationId", "name") VALUES ($1, $2, $3)`, [groupId, id, `group ${index}`]);
  }
  const org = { id, roles, groups };
  const founder = await user();
  await membership(org.id, founder.id, roles.owner, []);
  const joiner = await user();
  const accepted = await invitation(org.id, joiner.email, roles.member, [groups[0]!], "ACCEPTED", joiner.id);
  await membership(org.id, joiner.id, roles.member, [groups[0]!]);
  await invitation(org.id, `pending-${randomUUID()}@example.test`, roles.admin, groups, "PENDING");
  await invitation(org.id, `declined-${randomUUID()}@example.test`, roles.member, [], "DECLINED", (await user()).id);
  await invitation(org.id, `revoked-${randomUUID()}@example.test`, roles.member, [], "REVOKED");
  return { ...org, joiner, accepted };
}

async function user() {
  const id = randomUUID();
  const email = `user-${id}@example.test`;
  await sql.query(`INSERT INTO "User" ("id", "sub", "email", "updatedAt") VALUES ($1, $2, $3, now())`, [id, `sub|${id}`, email]);
  return { id, email };
}

async function membership(organizationId: string, userId: string, roleId: string, groupIds: string[]) {
  const id = randomUUID();
  // Later memberships are created later: the founder is the organization's first.
  await sql.query(
    `INSERT INTO "Membership" ("id", "userId", "organizationId", "roleId", "createdAt", "updatedAt")
     VALUES ($1, $2, $3, $4, clock_timestamp(), now())`,
    [id, userId, organizationId, roleId],
  );
  for (const groupId of groupIds) await sql.query(`INSERT INTO "_MembershipGroups" ("A", "B") VALUES ($1, $2)`, [groupId, id]);
  return id;
}

async function invitation(organizationId: string, email: string, roleId: string, groupIds: string[], status: Status, inviteeId?: string) {
  const id = randomUUID();
  await sql.query(
    `INSERT INTO "Invitation" ("id", "organizationId", "email", "status", "roleId", "inviteeId", "tokenHash", "expiresAt",
                               "acceptedAt", "declinedAt", "revokedAt", "updatedAt")
     VALUES ($1, $2, $3, $4::"InvitationStatus", $5, $6, $7, now() + interval '1 day',
             CASE WHEN $4 = 'ACCEPTED' THEN now() END, CASE WHEN $4 = 'DECLINED' THEN now() END,
             CASE WHEN $4 = 'REVOKED' THEN now() END, now())`,
    [id, organizationId, email, status, roleId, inviteeId ?? null, randomUUID()],
  );
  for (const groupId of groupIds) await sql.query(`INSERT INTO "_InvitationGroups" ("A", "B") VALUES ($1, $2)`, [groupId, id]);
  return id;
}

async function webhookEndpoint(organizationId: string, deleted: boolean) {
  const id = randomUUID();
  await sql.query(
    `INSERT INTO "WebhookEndpoint" ("id", "organizationId", "url", "events", "secret", "createdAt", "deletedAt")
     VALUES ($1, $2, 'https://hooks.example.test/x', '{}', 'whsec_AAAA', now(), CASE WHEN $3 THEN now() END)`,
    [id, organizationId, deleted],
  );
  return id;
}

/** An event of the invitation and one webhook delivery of it to `endpointId`, pending. */
async function webhookDelivery(invitationId: string, organizationId: string, endpointId: string, token: string | null) {
  const eventId = randomUUID();
  await sql.query(
    `INSERT INTO "InvitationEvent" ("id", "invitationId", "organizationId", "type", "occurredAt") VALUES ($1, $2, $3, 'ACCEPTED', now())`,
    [eventId, invitationId, organizationId],
  );
  await sql.query(
    `INSERT INTO "OutboxDelivery" ("id", "eventId", "invitationId", "destination", "endpointId", "token", "nextAttemptAt", "createdAt")
     VALUES ($1, $2, $3, 'webhook', $4, $5, now(), now())`,
    [randomUUID(), eventId, invitationId, endpointId, token],
  );
}

/** Violations per invariant name, for the given organizations. */
async function violations(organizationIds: string[]): Promise<Record<string, number>> {
  const results = await checkInvariants(sql, { organizationIds });
  return Object.fromEntries(results.map((r) => [r.name, r.violations]));
}

const none = Object.fromEntries(INVARIANTS.map((i) => [i.name, 0]));

describe("data invariants", () => {
  it("hold on a consistent organization", async () => {
    const org = await organization();
    expect(await violations([org.id])).toEqual(none);
  });

  it.each([
    {
      name: "membership-has-origin",
      case: "a member with no invitation",
      breakIt: async (org: Awaited<ReturnType<typeof organization>>) => {
        await membership(org.id, (await user()).id, org.roles.member, []);
      },
    },
    {
      name: "membership-has-origin",
      case: "an owner who did not create the organization",
      breakIt: async (org: Awaited<ReturnType<typeof organization>>) => {
        await membership(org.id, (await user()).id, org.roles.owner, []);
      },
    },
    {
      name: "one-membership-per-accepted-invitation",
      case: "an accepted invitation with no membership",
      breakIt: async (org: Awaited<ReturnType<typeof organization>>) => {
        const invitee = await user();
        await invitation(org.id, invitee.email, org.roles.member, [], "ACCEPTED", invitee.id);
      },
    },
    {
      name: "one-membership-per-accepted-invitation",
      case: "two accepted invitations for one membership",
      breakIt: async (org: Awaited<ReturnType<typeof organization>>) => {
        await invitation(org.id, org.joiner.email, org.roles.member, [org.groups[0]!], "ACCEPTED", org.joiner.id);
      },
    },
    {
      name: "one-pending-invitation-per-address",
      case: "two pending invitations for one address",
      breakIt: async (org: Awaited<ReturnType<typeof organization>>) => {
        const email = `twice-${randomUUID()}@example.test`;
        await invitation(org.id, email, org.roles.member, [], "PENDING");
        await invitation(org.id, email, org.roles.member, [], "PENDING");
      },
    },
    {
      name: "membership-matches-invitation",
      case: "the membership has another role",
      breakIt: async (org: Awaited<ReturnType<typeof organization>>) => {
        await sql.query(`UPDATE "Invitation" SET "roleId" = $1 WHERE "id" = $2`, [org.roles.admin, org.accepted]);
      },
    },
    {
      name: "membership-matches-invitation",
      case: "the membership lacks a group of the invitation",
      breakIt: async (org: Awaited<ReturnType<typeof organization>>) => {
        await sql.query(`INSERT INTO "_InvitationGroups" ("A", "B") VALUES ($1, $2)`, [org.groups[1], org.accepted]);
      },
    },
    {
      name: "no-pending-invitation-for-member",
      case: "a pending invitation for a member",
      breakIt: async (org: Awaited<ReturnType<typeof organization>>) => {
        await invitation(org.id, org.joiner.email, org.roles.admin, [], "PENDING");
      },
    },
    {
      name: "status-matches-answer",
      case: "an accepted invitation without acceptedAt",
      breakIt: async (org: Awaited<ReturnType<typeof organization>>) => {
        await sql.query(`UPDATE "Invitation" SET "acceptedAt" = NULL WHERE "id" = $1`, [org.accepted]);
      },
    },
    {
      name: "invitation-version-positive",
      case: "an invitation at version 0",
      breakIt: async (org: Awaited<ReturnType<typeof organization>>) => {
        await sql.query(`UPDATE "Invitation" SET "version" = 0 WHERE "id" = $1`, [org.accepted]);
      },
    },
    {
      name: "organization-limits-valid",
      case: "a seat limit of 0",
      breakIt: async (org: Awaited<ReturnType<typeof organization>>) => {
        await sql.query(`UPDATE "Organization" SET "seatLimit" = 0 WHERE "id" = $1`, [org.id]);
      },
    },
    {
      name: "organization-limits-valid",
      case: "an upper-case allowed domain",
      breakIt: async (org: Awaited<ReturnType<typeof organization>>) => {
        await sql.query(`UPDATE "Organization" SET "allowedEmailDomains" = ARRAY['Example.test'] WHERE "id" = $1`, [org.id]);
      },
    },
    {
      name: "no-pending-delivery-to-deleted-endpoint",
      case: "a pending webhook delivery to a deleted endpoint",
      breakIt: async (org: Awaited<ReturnType<typeof organization>>) => {
        const endpoint = await webhookEndpoint(org.id, true);
        await webhookDelivery(org.accepted, org.id, endpoint, null);
      },
    },
    {
      name: "webhook-delivery-matches-endpoint",
      case: "a webhook delivery holding a token",
      breakIt: async (org: Awaited<ReturnType<typeof organization>>) => {
        const endpoint = await webhookEndpoint(org.id, false);
        await webhookDelivery(org.accepted, org.id, endpoint, "inv_secret");
      },
    },
  ])("$name reports $case, and only in its scope", async ({ name, breakIt }) => {
    const broken = await organization();
    const healthy = await organization();
    await breakIt(broken);
    expect(await violations([broken.id])).toEqual({ ...none, [name]: 1 });
    expect(await violations([healthy.id])).toEqual(none);
    // Unscoped, the whole database: this broken organization is among the offenders.
    const all = await checkInvariants(sql, { sampleSize: 1000 });
    const offenders = all.find((r) => r.name === name)!.sample;
    expect(offenders.some((row) => row.organizationId === broken.id)).toBe(true);
  });
});

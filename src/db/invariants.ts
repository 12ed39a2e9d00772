/**
 * What must hold in the data whatever the order of concurrent requests, as named SQL checks. `npm run soak` prints
 * them after driving several instances at once, and the tests run them after their races.
 *
 * Each check is one SELECT returning the rows that break it (none when it holds), so a check sees one consistent
 * snapshot even while writes go on. `$1` is an array of organization ids to look at, or NULL for the whole database:
 * tests share one database with other test files (some of which insert rows directly), so they check only the
 * organizations they made.
 *
 * Extending: a feature that adds a way to become (or stop being) a member, or to change a member's role or groups,
 * must say here how that is accounted for (member removal: a removed membership is no longer "without an origin";
 * role changes: "membership matches invitation" then compares with the latest change, not the invitation).
 *
 * Not invariants, by choice: "members plus pending invitations within Organization.seatLimit" (updateOrganization may
 * lower the limit below the seats in use; the limit is enforced when seats are taken, under the organization's row
 * lock, and test/postgres/concurrency.test.ts races it) and "pending invitations within allowedEmailDomains" (the
 * domains may change after invitations were sent; they apply to new invitations and resends).
 */
import type { SqlSession } from "./client.js";

export interface Invariant {
  /** A stable kebab-case name, printed and used in tests. */
  name: string;
  /** The rule in one sentence. */
  description: string;
  /** One SELECT returning the offending rows; `$1` is `uuid[]` of organization ids or NULL for all. */
  sql: string;
}

/** `$1` narrows a check to some organizations; the column is the organization id of the row under test. */
const inScope = (column: string) => `($1::uuid[] IS NULL OR ${column} = ANY($1::uuid[]))`;

export const INVARIANTS: readonly Invariant[] = [
  {
    name: "membership-has-origin",
    description:
      "every membership comes from an accepted invitation (same organization, invitee = member) or from creating the organization (its first membership, owner role)",
    sql: `
      -- The founder is the organization's earliest membership; two memberships created in the same millisecond
      -- both count as earliest (ids of one millisecond are not ordered), the other one still needs its invitation.
      WITH founded AS (
        SELECT "organizationId", min("createdAt") AS "at" FROM "Membership" GROUP BY "organizationId"
      )
      SELECT m."id" AS "membershipId", m."organizationId", m."userId", r."key" AS "role"
      FROM "Membership" m JOIN "Role" r ON r."id" = m."roleId"
      WHERE ${inScope(`m."organizationId"`)}
        AND NOT (r."key" = 'owner' AND m."createdAt" = (SELECT f."at" FROM founded f WHERE f."organizationId" = m."organizationId"))
        AND NOT EXISTS (
          SELECT 1 FROM "Invitation" i
          WHERE i."status" = 'ACCEPTED' AND i."organizationId" = m."organizationId" AND i."inviteeId" = m."userId"
        )`,
  },
  {
    name: "one-membership-per-accepted-invitation",
    description:
      "every accepted invitation (deleted ones included: deletion is soft) has its own membership: an invitee, a membership for that invitee, and no second accepted invitation for the same member",
    sql: `
      SELECT i."id" AS "invitationId", i."organizationId", i."inviteeId", 'no membership' AS "problem"
      FROM "Invitation" i
      WHERE i."status" = 'ACCEPTED' AND ${inScope(`i."organizationId"`)}
        AND (i."inviteeId" IS NULL OR NOT EXISTS (
          SELECT 1 FROM "Membership" m WHERE m."userId" = i."inviteeId" AND m."organizationId" = i."organizationId"
        ))
      UNION ALL
      SELECT min(i."id"::text)::uuid, i."organizationId", i."inviteeId", count(*) || ' accepted invitations for one membership'
      FROM "Invitation" i
      WHERE i."status" = 'ACCEPTED' AND i."inviteeId" IS NOT NULL AND ${inScope(`i."organizationId"`)}
      GROUP BY i."organizationId", i."inviteeId"
      HAVING count(*) > 1`,
  },
  {
    name: "one-pending-invitation-per-address",
    description: "at most one pending (stored status, not deleted) invitation per (organization, email)",
    sql: `
      SELECT "organizationId", "email", count(*)::int AS "pending"
      FROM "Invitation"
      WHERE "status" = 'PENDING' AND "deletedAt" IS NULL AND ${inScope(`"organizationId"`)}
      GROUP BY "organizationId", "email"
      HAVING count(*) > 1`,
  },
  {
    name: "membership-matches-invitation",
    description: "the membership of every accepted invitation has the invitation's role and exactly its groups",
    sql: `
      SELECT i."id" AS "invitationId", i."organizationId", m."id" AS "membershipId",
             i."roleId" AS "invitedRole", m."roleId" AS "memberRole",
             ARRAY(SELECT g."A" FROM "_InvitationGroups" g WHERE g."B" = i."id" ORDER BY 1) AS "invitedGroups",
             ARRAY(SELECT g."A" FROM "_MembershipGroups" g WHERE g."B" = m."id" ORDER BY 1) AS "memberGroups"
      FROM "Invitation" i
      JOIN "Membership" m ON m."userId" = i."inviteeId" AND m."organizationId" = i."organizationId"
      WHERE i."status" = 'ACCEPTED' AND ${inScope(`i."organizationId"`)}
        AND (m."roleId" <> i."roleId"
          OR ARRAY(SELECT g."A" FROM "_InvitationGroups" g WHERE g."B" = i."id" ORDER BY 1)
             <> ARRAY(SELECT g."A" FROM "_MembershipGroups" g WHERE g."B" = m."id" ORDER BY 1))`,
  },
  {
    name: "no-pending-invitation-for-member",
    description: "no pending invitation (not deleted) is addressed to someone who is already a member of its organization",
    sql: `
      SELECT i."id" AS "invitationId", i."organizationId", i."email", m."id" AS "membershipId"
      FROM "Invitation" i
      JOIN "User" u ON u."email" = i."email"
      JOIN "Membership" m ON m."userId" = u."id" AND m."organizationId" = i."organizationId"
      WHERE i."status" = 'PENDING' AND i."deletedAt" IS NULL AND ${inScope(`i."organizationId"`)}`,
  },
  {
    name: "status-matches-answer",
    description:
      "an invitation's status agrees with its timestamps: accepted ones have acceptedAt and an invitee, declined ones declinedAt, revoked ones revokedAt, and pending or expired ones none of the three",
    sql: `
      SELECT "id" AS "invitationId", "organizationId", "status", "acceptedAt", "declinedAt", "revokedAt", "inviteeId"
      FROM "Invitation"
      WHERE ${inScope(`"organizationId"`)} AND NOT CASE "status"
        WHEN 'ACCEPTED' THEN "acceptedAt" IS NOT NULL AND "inviteeId" IS NOT NULL AND "declinedAt" IS NULL AND "revokedAt" IS NULL
        WHEN 'DECLINED' THEN "declinedAt" IS NOT NULL AND "acceptedAt" IS NULL AND "revokedAt" IS NULL
        WHEN 'REVOKED' THEN "revokedAt" IS NOT NULL AND "acceptedAt" IS NULL AND "declinedAt" IS NULL
        ELSE "acceptedAt" IS NULL AND "declinedAt" IS NULL AND "revokedAt" IS NULL
      END`,
  },
  {
    name: "invitation-version-positive",
    description: "every invitation's version is at least 1 (1 at creation, growing with each change a client makes)",
    sql: `
      SELECT "id" AS "invitationId", "organizationId", "version"
      FROM "Invitation"
      WHERE ${inScope(`"organizationId"`)} AND "version" < 1`,
  },
  {
    name: "organization-limits-valid",
    description:
      "an organization's seatLimit is null or at least 1, and its allowedEmailDomains are lower-case, non-empty and without duplicates",
    sql: `
      SELECT "id" AS "organizationId", "seatLimit", "allowedEmailDomains"
      FROM "Organization"
      WHERE ${inScope(`"id"`)}
        AND (("seatLimit" IS NOT NULL AND "seatLimit" < 1)
          OR "allowedEmailDomains" IS NULL
          OR EXISTS (SELECT 1 FROM unnest("allowedEmailDomains") AS d WHERE d <> lower(d) OR d = '')
          OR cardinality("allowedEmailDomains") <> (SELECT count(DISTINCT d) FROM unnest("allowedEmailDomains") AS d))`,
  },
  {
    name: "no-pending-delivery-to-deleted-endpoint",
    description: "a deleted webhook endpoint has no delivery still waiting to be sent (deleting it drops them, and no new one is written)",
    sql: `
      SELECT d."id" AS "deliveryId", w."organizationId", w."id" AS "endpointId", w."deletedAt"
      FROM "OutboxDelivery" d JOIN "WebhookEndpoint" w ON w."id" = d."endpointId"
      WHERE d."status" = 'PENDING' AND w."deletedAt" IS NOT NULL AND ${inScope(`w."organizationId"`)}`,
  },
  {
    name: "webhook-delivery-matches-endpoint",
    description:
      "a webhook delivery goes to an endpoint of its invitation's own organization, and never holds a token (only an email waiting to be sent does)",
    sql: `
      SELECT d."id" AS "deliveryId", i."organizationId", w."organizationId" AS "endpointOrganizationId", d."token" IS NOT NULL AS "hasToken"
      FROM "OutboxDelivery" d JOIN "WebhookEndpoint" w ON w."id" = d."endpointId" JOIN "Invitation" i ON i."id" = d."invitationId"
      WHERE ${inScope(`i."organizationId"`)} AND (w."organizationId" <> i."organizationId" OR d."token" IS NOT NULL)`,
  },
];

export interface InvariantResult {
  name: string;
  description: string;
  /** How many rows break it (0: it holds). */
  violations: number;
  /** Up to `sampleSize` offending rows, for the report. */
  sample: Record<string, unknown>[];
}

/**
 * Runs every invariant (or those given) on `session`. `organizationIds` narrows the checks to those organizations
 * (database ids, not global IDs); undefined checks the whole database.
 */
export async function checkInvariants(
  session: SqlSession,
  options: { organizationIds?: readonly string[]; invariants?: readonly Invariant[]; sampleSize?: number } = {},
): Promise<InvariantResult[]> {
  const scope = options.organizationIds ? [...options.organizationIds] : null;
  const results: InvariantResult[] = [];
  for (const invariant of options.invariants ?? INVARIANTS) {
    const rows = await session.query<Record<string, unknown>>(invariant.sql, [scope]);
    results.push({
      name: invariant.name,
      description: invariant.description,
      violations: rows.length,
      sample: rows.slice(0, options.sampleSize ?? 5),
    });
  }
  return results;
}

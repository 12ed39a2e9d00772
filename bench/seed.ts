/**
 * Benchmark data, written with set-based SQL so that 10,000 rows take a moment: an organization of `size`
 * invitations (a quarter answered, each in one or two of five groups, all sent by the owner), and an invitee with
 * 50 pending invitations from 50 organizations (each with its owner as a member). Rows get spread `createdAt`s so
 * that the lists' order and cursors do real work.
 */
import type { SqlSession } from "../src/db/client.js";

export interface SeededOrganization {
  organizationId: string;
  ownerId: string;
  memberRoleId: string;
}

/** Fills an existing organization (made through the API, so roles and the owner's membership are real). */
export async function seedInvitations(sql: SqlSession, org: SeededOrganization, size: number, tag: string): Promise<void> {
  await sql.query(
    `INSERT INTO "Group" (id, "organizationId", name) SELECT gen_random_uuid(), $1, 'Group ' || g FROM generate_series(1, 5) g
     ON CONFLICT DO NOTHING`,
    [org.organizationId],
  );
  await sql.query(
    `INSERT INTO "Invitation" (id, "organizationId", email, status, "roleId", "invitedById", "tokenHash", metadata,
                               "expiresAt", "acceptedAt", "createdAt", "updatedAt")
     SELECT gen_random_uuid(), $1, 'seed-' || i || '-' || $4 || '@bench.test',
            (CASE WHEN i % 4 = 0 THEN 'ACCEPTED' ELSE 'PENDING' END)::"InvitationStatus", $2, $3,
            md5($4 || i::text) || md5(i::text || $4), '{"source":"bench"}'::jsonb,
            now() + interval '7 days', CASE WHEN i % 4 = 0 THEN now() END,
            now() - make_interval(secs => i * 7), now()
       FROM generate_series(1, $5::int) i`,
    [org.organizationId, org.memberRoleId, org.ownerId, tag, size],
  );
  await sql.query(
    `INSERT INTO "_InvitationGroups" ("A", "B")
     SELECT g.id, i.id
       FROM (SELECT id, row_number() OVER (ORDER BY id) AS n FROM "Invitation" WHERE "organizationId" = $1) i
       JOIN (SELECT id, row_number() OVER (ORDER BY name) AS n FROM "Group" WHERE "organizationId" = $1) g
         ON g.n = 1 + i.n % 5 OR (i.n % 3 = 0 AND g.n = 1 + (i.n + 1) % 5)
     ON CONFLICT DO NOTHING`,
    [org.organizationId],
  );
}

/** 50 organizations, each with an owner membership, each inviting `email` (pending, unexpired). */
export async function seedInvitee(sql: SqlSession, email: string, ownerId: string, tag: string, count = 50): Promise<void> {
  await sql.query(
    `WITH orgs AS (
       INSERT INTO "Organization" (id, name, slug, "logoUrl", "createdAt", "updatedAt")
       SELECT gen_random_uuid(), 'Inviter ' || i, 'inviter-' || $2 || '-' || i, 'https://logo.example/' || i || '.png', now(), now()
         FROM generate_series(1, $3::int) i
       RETURNING id
     ), roles AS (
       INSERT INTO "Role" (id, "organizationId", key, name, permissions)
       SELECT gen_random_uuid(), id, 'member', 'Member', ARRAY['members:read'] FROM orgs
       RETURNING id, "organizationId"
     ), members AS (
       INSERT INTO "Membership" (id, "userId", "organizationId", "roleId", "updatedAt")
       SELECT gen_random_uuid(), $4, "organizationId", id, now() FROM roles
     )
     INSERT INTO "Invitation" (id, "organizationId", email, "roleId", "invitedById", "tokenHash", "expiresAt", "createdAt", "updatedAt")
     SELECT gen_random_uuid(), "organizationId", $1, id, $4, md5($2 || id::text) || md5(id::text), now() + interval '7 days',
            now() - make_interval(secs => row_number() OVER ()), now()
       FROM roles`,
    [email, tag, count, ownerId],
  );
}

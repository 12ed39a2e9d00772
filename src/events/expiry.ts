/**
 * The expiry sweep: an invitation past its expiry gets one EXPIRED event (an invitation that is resent and expires
 * again gets another). Expiry itself is still derived when read; the sweep only tells the outbox. One instance at a
 * time: the sweep runs under a transaction-level advisory lock that the others skip rather than wait for.
 */
import { prisma } from "../db/client.js";
import { Prisma } from "../generated/prisma/client.js";
import { uuidv7 } from "../ids.js";
import { invitationSnapshotSql, webhookDeliveriesSql } from "./plan.js";
import { publish, type PublishedEvent } from "./publish.js";

/** Any constant of our own; the per-address locks of src/invitations use hashes of strings, not this key space. */
const SWEEP_LOCK = 7_320_011;
const BATCH = 500;

/** Records EXPIRED for invitations that expired since their last one; returns how many. */
export async function sweepExpired(now: Date): Promise<number> {
  const events = await prisma.$transaction(async (tx): Promise<PublishedEvent[]> => {
    const [{ locked }] = await tx.$queryRaw<[{ locked: boolean }]>`SELECT pg_try_advisory_xact_lock(${SWEEP_LOCK}) AS locked`;
    if (!locked) return [];
    // An EXPIRED event written at or after the current expiry belongs to this expiry; one before it, to an earlier
    // one that a resend has since undone.
    const due = await tx.$queryRaw<{ id: string; organizationId: string; email: string; expiresAt: Date }[]>(Prisma.sql`
      SELECT i."id"::text AS "id", i."organizationId"::text AS "organizationId", i."email", i."expiresAt" FROM "Invitation" AS i
      WHERE i."status" IN ('PENDING', 'EXPIRED') AND i."expiresAt" <= ${now} AND i."deletedAt" IS NULL
        AND NOT EXISTS (
          SELECT 1 FROM "InvitationEvent" AS e
          WHERE e."invitationId" = i."id" AND e."type" = 'EXPIRED' AND e."occurredAt" >= i."expiresAt")
      ORDER BY i."expiresAt"
      LIMIT ${BATCH}`);
    if (due.length === 0) return [];
    const expired = due.map((row) => ({ ...row, eventId: uuidv7() }));
    // The events (it expired then, whenever the sweep noticed) and their webhook deliveries, in one statement.
    await tx.$executeRaw(Prisma.sql`
      WITH event AS (
        INSERT INTO "InvitationEvent" ("id", "invitationId", "organizationId", "type", "actorId", "occurredAt", "data")
        SELECT d."eventId", i."id", i."organizationId", 'EXPIRED', NULL, i."expiresAt", ${invitationSnapshotSql(Prisma.sql`i."expiresAt"`)}
        FROM unnest(${expired.map((row) => row.eventId)}::uuid[], ${expired.map((row) => row.id)}::uuid[]) AS d("eventId", "invitationId")
        JOIN "Invitation" AS i ON i."id" = d."invitationId"
        RETURNING "id", "invitationId", "organizationId", "type")
      ${webhookDeliveriesSql(now)}`);
    return expired.map((row) => ({
      eventId: row.eventId,
      type: "EXPIRED" as const,
      invitationId: row.id,
      organizationId: row.organizationId,
      email: row.email,
      occurredAt: new Date(row.expiresAt).toISOString(),
    }));
  });
  // Committed: subscribers hear of each expiry now (src/events/publish.ts).
  publish(events);
  return events.length;
}

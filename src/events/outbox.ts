/**
 * The outbox's storage: claiming due deliveries, and recording how an attempt ended. Every function is one
 * auto-committed statement, so no transaction is ever held open while a sender talks to the outside world (PGlite
 * has a single connection; PostgreSQL's pool would be starved).
 *
 * Claims are leases: `lockedUntil` marks a delivery as taken until then; a worker that dies mid-send loses its lease
 * and another worker takes the delivery over (at-least-once). `FOR UPDATE SKIP LOCKED` lets several instances claim
 * side by side without waiting on each other, and the results of an attempt are only written while the lease is
 * still the claimant's own (a late, taken-over worker cannot overwrite the new owner's outcome).
 */
import { prisma } from "../db/client.js";
import { Prisma } from "../generated/prisma/client.js";

export interface ClaimedDelivery {
  id: string;
  eventId: string;
  invitationId: string;
  destination: string;
  /** The webhook endpoint of a "webhook" delivery; null for emails. */
  endpointId: string | null;
  /** Attempts so far, this one included. */
  attempts: number;
  token: string | null;
  lockedUntil: Date;
}

/**
 * Takes up to `limit` due deliveries for `leaseMs`. Only the oldest unfinished delivery of each (invitation,
 * destination) is due, each webhook endpoint being a destination of its own, so one invitation's events reach one
 * destination in order, while a destination that keeps failing holds back nothing but its own queue.
 */
export async function claimDue(now: Date, limit: number, leaseMs: number, destinations: readonly string[]): Promise<ClaimedDelivery[]> {
  // A worker takes only what it can send: an instance without a mail server leaves emails to those that have one.
  if (destinations.length === 0) return [];
  const lease = new Date(now.getTime() + leaseMs);
  const rows = await prisma.$queryRaw<ClaimedDelivery[]>(Prisma.sql`
    UPDATE "OutboxDelivery" AS d SET "lockedUntil" = ${lease}, "attempts" = d."attempts" + 1
    WHERE d."id" IN (
      SELECT c."id" FROM "OutboxDelivery" AS c
      WHERE c."status" = 'PENDING' AND c."nextAttemptAt" <= ${now} AND c."destination" IN (${Prisma.join(destinations)})
        AND (c."lockedUntil" IS NULL OR c."lockedUntil" <= ${now})
        AND NOT EXISTS (
          SELECT 1 FROM "OutboxDelivery" AS e
          WHERE e."invitationId" = c."invitationId" AND e."destination" = c."destination"
            AND e."endpointId" IS NOT DISTINCT FROM c."endpointId"
            AND e."status" = 'PENDING' AND e."id" < c."id")
      ORDER BY c."nextAttemptAt", c."id"
      LIMIT ${limit}
      FOR UPDATE SKIP LOCKED)
    RETURNING d."id"::text AS "id", d."eventId"::text AS "eventId", d."invitationId"::text AS "invitationId",
      d."destination", d."endpointId"::text AS "endpointId", d."attempts", d."token", d."lockedUntil"`);
  return rows.map((r) => ({ ...r, lockedUntil: new Date(r.lockedUntil) }));
}

const owned = (delivery: ClaimedDelivery) => ({ id: delivery.id, lockedUntil: delivery.lockedUntil, status: "PENDING" as const });

/**
 * The attempt succeeded (SENT), or the delivery was consumed without sending (DISABLED). The token goes.
 * `responseStatus`: the HTTP status a webhook endpoint answered.
 */
export async function complete(delivery: ClaimedDelivery, status: "SENT" | "DISABLED", at: Date, responseStatus?: number): Promise<boolean> {
  const { count } = await prisma.outboxDelivery.updateMany({
    where: owned(delivery),
    data: {
      status,
      sentAt: status === "SENT" ? at : null,
      token: null,
      lockedUntil: null,
      lastError: null,
      lastAttemptAt: at,
      ...(responseStatus === undefined ? {} : { responseStatus }),
    },
  });
  return count === 1;
}

/**
 * The attempt failed at `at`: try again at `retryAt`, or give up (FAILED, token wiped) when there is none.
 * `responseStatus`: the HTTP status a webhook endpoint answered, null when it did not answer.
 */
export async function fail(delivery: ClaimedDelivery, error: string, retryAt: Date | null, at: Date, responseStatus?: number | null): Promise<boolean> {
  const lastError = error.slice(0, 1000);
  const attempt = { lastError, lastAttemptAt: at, ...(responseStatus === undefined ? {} : { responseStatus }) };
  const { count } = await prisma.outboxDelivery.updateMany({
    where: owned(delivery),
    data: retryAt
      ? { ...attempt, nextAttemptAt: retryAt, lockedUntil: null }
      : { ...attempt, status: "FAILED", token: null, lockedUntil: null },
  });
  return count === 1;
}

/** Gives claimed deliveries back untried (shutdown): the attempt is not counted and anyone may take them at once. */
export async function release(deliveries: readonly ClaimedDelivery[]): Promise<void> {
  for (const delivery of deliveries) {
    await prisma.outboxDelivery.updateMany({
      where: owned(delivery),
      data: { lockedUntil: null, attempts: { decrement: 1 } },
    });
  }
}

/** Deliveries still to be made (due or waiting for a retry): what the metrics call the outbox backlog. */
export function backlog(): Promise<number> {
  return prisma.outboxDelivery.count({ where: { status: "PENDING" } });
}

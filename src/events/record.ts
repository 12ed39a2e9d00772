/**
 * The one place each lifecycle operation reports its change, inside the transaction that made it: the event row
 * (the audit timeline) and its deliveries (the outbox) commit or roll back with the change itself. Senders run
 * later, in src/events/worker.ts, and re-read what they need by id.
 */
import { Prisma, type Invitation } from "../generated/prisma/client.js";
import { uuidv7 } from "../ids.js";
import { deliveryPlan, invitationSnapshotSql, webhookDeliveriesSql } from "./plan.js";
import { keepUntilCommit } from "./publish.js";

export type InvitationEventType = "CREATED" | "RESENT" | "ACCEPTED" | "DECLINED" | "REVOKED" | "DELETED" | "EXPIRED";

/** Who made a change: a signed-in user, or the server itself (workers, the expiry sweep). */
export type Actor = { kind: "user"; id: string } | { kind: "system" };

export interface InvitationEvent {
  type: InvitationEventType;
  invitation: Invitation;
  actor: Actor;
  occurredAt: Date;
  /**
   * The raw token, for CREATED and RESENT only: the email it goes out in is sent after commit, so the outbox must
   * hold it until then (and wipe it once sent or abandoned).
   */
  token?: string;
}

/** The destination name of invitation emails in the outbox. */
export const EMAIL = "email";

/** Subscribers hear of a recorded event once its transaction commits (src/events/publish.ts); a rollback drops it. */
export function keepLive(tx: Prisma.TransactionClient, eventId: string, event: Pick<InvitationEvent, "type" | "invitation" | "occurredAt">): void {
  const { invitation } = event;
  keepUntilCommit(tx, {
    eventId,
    type: event.type,
    invitationId: invitation.id,
    organizationId: invitation.organizationId,
    email: invitation.email,
    occurredAt: event.occurredAt.toISOString(),
  });
}

/** Records `event` and its deliveries in the transaction `tx`. */
export async function recordEvent(tx: Prisma.TransactionClient, event: InvitationEvent): Promise<void> {
  const { invitation, occurredAt, type } = event;
  const actorId = event.actor.kind === "user" ? event.actor.id : null;
  const live = (eventId: string) => keepLive(tx, eventId, event);
  if (type === "RESENT") {
    // An email still waiting with the previous token would carry a dead link: the new one replaces it.
    await tx.outboxDelivery.updateMany({
      where: { invitationId: invitation.id, destination: EMAIL, status: "PENDING" },
      data: { status: "FAILED", token: null, lockedUntil: null, lastError: "Replaced by a resend before it was sent." },
    });
  }
  // The event, its email (CREATED, RESENT) and its webhook deliveries in one round trip.
  const eventId = uuidv7();
  await tx.$executeRaw(
    Prisma.sql`WITH ${eventWithDeliveryCtes({ eventId, invitationId: invitation.id, organizationId: invitation.organizationId, type, actorId, occurredAt, token: event.token })} SELECT 1`,
  );
  live(eventId);
}

/**
 * An event and its email delivery as two data-modifying CTEs (`event`, `delivery`), to put into the statement that
 * records them, or into the one that makes the change itself (createInvitation inserts the invitation, its event and
 * its email in one statement). PostgreSQL runs a data-modifying CTE whether or not the statement reads it. The
 * caller names the event (`eventId`) and hands it to `keepLive` once the statement has run, as `recordEvent` does.
 */
export function eventWithDeliveryCtes(event: {
  eventId: string;
  invitationId: string;
  organizationId: string;
  type: InvitationEventType;
  actorId: string | null;
  occurredAt: Date;
  token?: string;
  /**
   * The invitation row as `i` when this same statement writes it (its own inserts no part of it can read back), and
   * its group ids as a jsonb array; otherwise the row is read from "Invitation". For the webhook body snapshot.
   */
  source?: { invitation: Prisma.Sql; groupIds: Prisma.Sql };
}): Prisma.Sql {
  const { eventId, invitationId, type, actorId, occurredAt } = event;
  const from = event.source?.invitation ?? Prisma.sql`"Invitation" AS i WHERE i."id" = ${invitationId}::uuid`;
  let email = Prisma.empty;
  if (event.token !== undefined) {
    // Without a mail server in production nothing will ever send it: the token is not kept at all.
    const disabled = deliveryPlan().email === "off";
    email = Prisma.sql`,
    delivery AS (
      INSERT INTO "OutboxDelivery" ("id", "eventId", "invitationId", "destination", "status", "token", "nextAttemptAt", "createdAt")
      SELECT ${uuidv7()}::uuid, event."id", event."invitationId", ${EMAIL}, ${disabled ? "DISABLED" : "PENDING"}::"DeliveryStatus",
        ${disabled ? null : event.token}, ${occurredAt}, ${occurredAt}
      FROM event)`;
  }
  return Prisma.sql`event AS (
      INSERT INTO "InvitationEvent" ("id", "invitationId", "organizationId", "type", "actorId", "occurredAt", "data")
      SELECT ${eventId}::uuid, i."id", i."organizationId", ${type}::"InvitationEventType", ${actorId}::uuid, ${occurredAt},
        ${invitationSnapshotSql(Prisma.sql`${occurredAt}::timestamptz`, event.source?.groupIds)}
      FROM ${from}
      RETURNING "id", "invitationId", "organizationId", "type")${email},
    webhooks AS (${webhookDeliveriesSql(occurredAt)})`;
}

/**
 * Records events that each send an invitation email (CREATED, with their tokens) and their deliveries, in one round
 * trip however many there are: a bulk invitation's hundred (createInvitations). The same rows as
 * eventWithDeliveryCtes writes for one event.
 */
export async function recordEventsWithEmails(
  tx: Prisma.TransactionClient,
  events: readonly (InvitationEvent & { token: string })[],
): Promise<void> {
  if (events.length === 0) return;
  // Without a mail server in production nothing will ever send them: the tokens are not kept at all.
  const disabled = deliveryPlan().email === "off";
  const column = <T>(pick: (event: InvitationEvent & { token: string }) => T) => events.map(pick);
  const eventIds = column(() => uuidv7());
  await tx.$executeRaw(Prisma.sql`
    WITH input AS (
      SELECT * FROM unnest(
        ${eventIds}::uuid[], ${column((e) => e.invitation.id)}::uuid[],
        ${column((e) => e.invitation.organizationId)}::uuid[], ${column((e) => e.type)}::text[],
        ${column((e) => (e.actor.kind === "user" ? e.actor.id : null))}::uuid[], ${column((e) => e.occurredAt.toISOString())}::timestamptz[],
        ${column(() => uuidv7())}::uuid[], ${column((e) => (disabled ? null : e.token))}::text[]
      ) AS t("eventId", "invitationId", "organizationId", "type", "actorId", "occurredAt", "deliveryId", "token")
    ), event AS (
      INSERT INTO "InvitationEvent" ("id", "invitationId", "organizationId", "type", "actorId", "occurredAt", "data")
      SELECT input."eventId", input."invitationId", input."organizationId", input."type"::"InvitationEventType", input."actorId",
        input."occurredAt", ${invitationSnapshotSql(Prisma.sql`input."occurredAt"`)}
      FROM input JOIN "Invitation" AS i ON i."id" = input."invitationId"
      RETURNING "id", "invitationId", "organizationId", "type"),
    email AS (
      INSERT INTO "OutboxDelivery" ("id", "eventId", "invitationId", "destination", "status", "token", "nextAttemptAt", "createdAt")
      SELECT input."deliveryId", event."id", input."invitationId", ${EMAIL}, ${disabled ? "DISABLED" : "PENDING"}::"DeliveryStatus",
        input."token", input."occurredAt", input."occurredAt"
      FROM input JOIN event ON event."id" = input."eventId"),
    webhooks AS (${webhookDeliveriesSql(events[0]!.occurredAt)})
    SELECT 1`);
  events.forEach((event, index) => keepLive(tx, eventIds[index]!, event));
}

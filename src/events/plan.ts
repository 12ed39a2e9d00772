/**
 * Where each event goes. Emails: decided once from the configuration at start-up (src/server.ts), since the domain
 * functions that record events run inside transactions and must not need the configuration passed down. Webhooks:
 * the organization's endpoints subscribed to the event's type at the time of the event, chosen by SQL inside the
 * statement that writes the event (src/events/record.ts, src/events/expiry.ts), so a change costs no extra round trip
 * for them.
 *
 * email: "smtp" sends through SMTP_URL; "log" (development without SMTP_URL) writes the invitation link to the log
 * and marks the delivery DISABLED; "off" (production without SMTP_URL) records the delivery as DISABLED at once and
 * never stores the token.
 */
import { Prisma } from "../generated/prisma/client.js";
import type { InvitationEventType } from "./record.js";

export interface DeliveryPlan {
  email: "smtp" | "log" | "off";
}

let plan: DeliveryPlan = { email: "off" };

export function deliveryPlan(): DeliveryPlan {
  return plan;
}

export function setDeliveryPlan(next: DeliveryPlan): void {
  plan = next;
}

/** The destination name of webhook deliveries in the outbox (each with its endpoint). */
export const WEBHOOK = "webhook";

/** The public names of the event types, as webhooks and endpoint subscriptions spell them. */
export const WEBHOOK_EVENT_TYPES = [
  "invitation.created",
  "invitation.resent",
  "invitation.accepted",
  "invitation.declined",
  "invitation.revoked",
  "invitation.deleted",
  "invitation.expired",
] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

/** CREATED → "invitation.created". */
export function webhookEventType(type: InvitationEventType): WebhookEventType {
  return `invitation.${type.toLowerCase()}` as WebhookEventType;
}

/**
 * The invitation `i` as a webhook body carries it, right after the change (the statement sees its own
 * transaction's writes): raw ids and timestamps, formatted when sent (src/webhooks/payload.ts). Never the token
 * hash. `at` is the instant of the event, for the status (a pending invitation past its expiry reads EXPIRED);
 * `groupIds` replaces the look-up of the groups when they are written by the same statement.
 */
export function invitationSnapshotSql(at: Prisma.Sql, groupIds?: Prisma.Sql): Prisma.Sql {
  return Prisma.sql`jsonb_build_object(
    'id', i."id", 'organizationId', i."organizationId", 'email', i."email",
    'status', CASE WHEN i."status" = 'PENDING' AND i."expiresAt" <= ${at} THEN 'EXPIRED' ELSE i."status"::text END,
    'role', (SELECT jsonb_build_object('id', r."id", 'key', r."key", 'name', r."name") FROM "Role" AS r WHERE r."id" = i."roleId"),
    'groupIds', ${groupIds ?? Prisma.sql`COALESCE((SELECT jsonb_agg(g."A" ORDER BY g."A") FROM "_InvitationGroups" AS g WHERE g."B" = i."id"), '[]'::jsonb)`},
    'invitedById', i."invitedById", 'inviteeId', i."inviteeId", 'metadata', i."metadata",
    'createdAt', i."createdAt", 'updatedAt', i."updatedAt", 'expiresAt', i."expiresAt",
    'acceptedAt', i."acceptedAt", 'declinedAt', i."declinedAt", 'revokedAt', i."revokedAt", 'deletedAt', i."deletedAt")`;
}

/**
 * The webhook deliveries of the events a CTE named `event` wrote (columns "id", "invitationId", "organizationId",
 * "type"): one per live endpoint of the event's organization subscribed to its type (an empty subscription list
 * means every type), due at `at`. The final INSERT of the statement that writes the events.
 *
 * A delivery's id is its event's id with a random tail: time-ordered like the event's, so each endpoint's queue
 * keeps the events' order (the claim orders by id per invitation and destination) and lists read newest first.
 * The endpoints are read FOR SHARE: a concurrent deleteWebhookEndpoint either commits first (its endpoint is then
 * skipped here) or waits for this transaction and then finds, and drops, the deliveries it wrote.
 */
export function webhookDeliveriesSql(at: Date): Prisma.Sql {
  return Prisma.sql`
    INSERT INTO "OutboxDelivery" ("id", "eventId", "invitationId", "destination", "endpointId", "status", "nextAttemptAt", "createdAt")
    SELECT overlay(event."id"::text PLACING substr(gen_random_uuid()::text, 25) FROM 25)::uuid, event."id", event."invitationId",
      ${WEBHOOK}, w."id", 'PENDING', ${at}, ${at}
    FROM event JOIN "WebhookEndpoint" AS w ON w."organizationId" = event."organizationId" AND w."deletedAt" IS NULL
      AND (cardinality(w."events") = 0 OR ('invitation.' || lower(event."type"::text)) = ANY(w."events"))
    FOR SHARE OF w`;
}

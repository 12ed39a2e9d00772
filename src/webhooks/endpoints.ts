/**
 * Webhook endpoints, apart from GraphQL: create and delete, each taking a transaction, the actor and the instant.
 * Authorization (organization:update) is the shield rules' business; input checks that need no database are here
 * too, so the schema file only parses and calls.
 */
import { randomBytes } from "node:crypto";
import { BadUserInputError, ConflictError, NotFoundError } from "../errors.js";
import type { Actor } from "../events/record.js";
import { WEBHOOK_EVENT_TYPES, type WebhookEventType } from "../events/plan.js";
import type { Prisma, WebhookEndpoint } from "../generated/prisma/client.js";
import { checkEndpointUrl } from "./address.js";

type Tx = Prisma.TransactionClient;

/** Live endpoints per organization: each event is written once per endpoint, inside the change's transaction. */
const MAX_ENDPOINTS_PER_ORGANIZATION = 20;

/**
 * A new signing secret: `whsec_` and 32 random bytes in base64, the form the Standard Webhooks libraries take
 * (`new Webhook(secret)`).
 */
function newWebhookSecret(): string {
  return `whsec_${randomBytes(32).toString("base64")}`;
}

/** The subscribed types, deduplicated in the catalogue's order; empty means every type. Unknown: BAD_USER_INPUT. */
export function parseEventTypes(events: readonly string[] | null | undefined, field = "events"): WebhookEventType[] {
  const known = new Set<string>(WEBHOOK_EVENT_TYPES);
  for (const type of events ?? []) {
    if (!known.has(type)) {
      throw new BadUserInputError(field, `Unknown event type "${type.slice(0, 100)}"; known: ${WEBHOOK_EVENT_TYPES.join(", ")}.`);
    }
  }
  const wanted = new Set(events ?? []);
  return WEBHOOK_EVENT_TYPES.filter((type) => wanted.has(type));
}

/** Checks the URL (see ./address.ts) and returns it normalised; BAD_USER_INPUT on field `url` otherwise. */
export async function requireEndpointUrl(raw: string, allowPrivate: boolean, field = "url"): Promise<string> {
  const checked = await checkEndpointUrl(raw, allowPrivate);
  if ("problem" in checked) throw new BadUserInputError(field, checked.problem);
  return checked.url;
}

export interface CreateEndpointInput {
  organizationId: string;
  /** Checked by requireEndpointUrl. */
  url: string;
  events: readonly WebhookEventType[];
}

/** A new endpoint and its secret (shown once: the API never returns it again). */
export async function create(tx: Tx, actor: Actor, input: CreateEndpointInput, now: Date): Promise<{ endpoint: WebhookEndpoint; secret: string }> {
  // Creations in one organization take turns, so the limit holds under concurrent requests.
  await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtextextended(${`webhooks:${input.organizationId}`}, 0))`;
  const live = await tx.webhookEndpoint.count({ where: { organizationId: input.organizationId, deletedAt: null } });
  if (live >= MAX_ENDPOINTS_PER_ORGANIZATION) {
    throw new ConflictError(
      "WEBHOOK_LIMIT_REACHED",
      `An organization has at most ${MAX_ENDPOINTS_PER_ORGANIZATION} webhook endpoints; delete one first.`,
    );
  }
  const secret = newWebhookSecret();
  const endpoint = await tx.webhookEndpoint.create({
    data: {
      organizationId: input.organizationId,
      url: input.url,
      events: [...input.events],
      secret,
      createdById: actor.kind === "user" ? actor.id : null,
      createdAt: now,
    },
  });
  return { endpoint, secret };
}

/**
 * Deletes an endpoint (soft: its recent deliveries stay for the record): it gets no new deliveries, and those still
 * pending are dropped (DISABLED). A delivery a worker is sending right now finishes, but its outcome is not written
 * over the DISABLED.
 */
export async function remove(tx: Tx, input: { id: string }, now: Date): Promise<WebhookEndpoint> {
  const { count } = await tx.webhookEndpoint.updateMany({ where: { id: input.id, deletedAt: null }, data: { deletedAt: now } });
  if (count === 0) throw new NotFoundError("WebhookEndpoint");
  await tx.outboxDelivery.updateMany({
    where: { endpointId: input.id, status: "PENDING" },
    data: { status: "DISABLED", lockedUntil: null, lastError: "The endpoint was deleted." },
  });
  return tx.webhookEndpoint.findUniqueOrThrow({ where: { id: input.id } });
}

/**
 * Webhook endpoints: the type with its recent deliveries, organization.webhookEndpoints, and the create and delete
 * mutations. Who may do this (organization:update) is decided in src/permissions; the mutations parse their input
 * and call src/webhooks/endpoints.ts.
 */
import { builder, decodeIdOf, encodeId } from "../builder.js";
import { now } from "../clock.js";
import { prisma } from "../db/client.js";
import { webhookEventType } from "../events/plan.js";
import type { WebhookEndpoint } from "../generated/prisma/client.js";
import { Prisma } from "../generated/prisma/client.js";
import { requireViewer } from "../permissions/access.js";
import * as endpoints from "../webhooks/endpoints.js";
import { readsColumns } from "./columns.js";
import { keysetConnection } from "./connections.js";
import { DeliveryStatusEnum } from "./invitation.js";

/** How many deliveries an endpoint shows: the most recent ones. */
const RECENT_DELIVERIES = 20;

const WebhookDeliveryRef = builder.prismaObject("OutboxDelivery", {
  name: "WebhookDelivery",
  description: "One event on its way to a webhook endpoint, with its attempts.",
  fields: (t) => ({
    webhookId: t.string({
      description: "The `webhook-id` header: the event's id, the same on every retry of this event (deduplicate on it).",
      resolve: (delivery) => delivery.eventId,
    }),
    eventType: t.string({
      description: "The event type, e.g. `invitation.created`.",
      select: { event: { select: { type: true } } },
      resolve: (delivery) => webhookEventType(delivery.event.type),
    }),
    invitationId: t.id({ resolve: (delivery) => encodeId("Invitation", delivery.invitationId) }),
    status: t.field({
      type: DeliveryStatusEnum,
      description: "PENDING: not delivered yet (retrying); SENT: a 2xx answer; FAILED: given up; DISABLED: dropped with its endpoint.",
      resolve: (delivery) => delivery.status,
    }),
    attempts: t.exposeInt("attempts"),
    responseStatusCode: t.exposeInt("responseStatus", { nullable: true, description: "The HTTP status of the latest answer." }),
    lastError: t.exposeString("lastError", {
      nullable: true,
      description: "Why the latest attempt failed (with a short excerpt of the answer's body); null after a success.",
    }),
    createdAt: t.expose("createdAt", { type: "DateTime", description: "When the event was queued for this endpoint." }),
    lastAttemptAt: t.expose("lastAttemptAt", { type: "DateTime", nullable: true }),
    nextAttemptAt: t.field({
      type: "DateTime",
      nullable: true,
      description: "When the next attempt is due; null unless PENDING.",
      resolve: (delivery) => (delivery.status === "PENDING" ? delivery.nextAttemptAt : null),
    }),
    deliveredAt: t.expose("sentAt", { type: "DateTime", nullable: true }),
  }),
});

export const WebhookEndpointRef = builder.prismaNode("WebhookEndpoint", {
  id: { field: "id" },
  description: "Where an organization's invitation events are sent, signed per the Standard Webhooks specification.",
  fields: (t) => ({
    url: t.exposeString("url"),
    events: t.exposeStringList("events", { description: "The subscribed event types; empty: every type, including types added later." }),
    createdAt: t.expose("createdAt", { type: "DateTime" }),
    createdBy: t.relation("createdBy", { nullable: true }),
    deliveries: t.relation("deliveries", {
      description: `The ${RECENT_DELIVERIES} most recent deliveries, newest first.`,
      query: { orderBy: { id: "desc" }, take: RECENT_DELIVERIES },
    }),
  }),
});

export const WebhookEndpointConnection = builder.connectionObject({ type: WebhookEndpointRef, name: "WebhookEndpointConnection" });

builder.prismaObjectField("Organization", "webhookEndpoints", (t) =>
  t.connection(
    {
      type: WebhookEndpointRef,
      description: "Needs organization:update. Newest first.",
      extensions: readsColumns(),
      resolve: (org, args, ctx, info) =>
        keysetConnection({
          table: "WebhookEndpoint",
          where: Prisma.sql`"organizationId" = ${org.id}::uuid AND "deletedAt" IS NULL`,
          args,
          ctx,
          info,
        }),
    },
    WebhookEndpointConnection,
  ),
);

const CreateWebhookEndpointInput = builder.inputType("CreateWebhookEndpointInput", {
  fields: (t) => ({
    organizationId: t.id({ required: true }),
    url: t.string({
      required: true,
      description: "An https URL on a public address (http and private addresses only with WEBHOOK_ALLOW_PRIVATE=true).",
    }),
    events: t.stringList({
      description: "Event types to send (invitation.created, .resent, .accepted, .declined, .revoked, .deleted, .expired); absent or empty: every type.",
    }),
  }),
});

const CreateWebhookEndpointPayload = builder
  .objectRef<{ webhookEndpoint: WebhookEndpoint; secret: string }>("CreateWebhookEndpointPayload")
  .implement({
    fields: (t) => ({
      webhookEndpoint: t.field({ type: WebhookEndpointRef, resolve: (p) => p.webhookEndpoint }),
      secret: t.exposeString("secret", {
        description: "The signing secret (`whsec_…`), for `new Webhook(secret).verify(...)`. Shown once: it cannot be read again.",
      }),
    }),
  });

builder.mutationField("createWebhookEndpoint", (t) =>
  t.field({
    type: CreateWebhookEndpointPayload,
    description: "Adds a webhook endpoint to an organization and returns its signing secret (once). Needs organization:update.",
    args: { input: t.arg({ type: CreateWebhookEndpointInput, required: true }) },
    resolve: async (_root, { input }, ctx) => {
      const viewer = requireViewer(ctx);
      const organizationId = decodeIdOf("Organization", input.organizationId, "organizationId");
      const events = endpoints.parseEventTypes(input.events);
      const url = await endpoints.requireEndpointUrl(input.url, ctx.settings.webhookAllowPrivate ?? false);
      const at = now();
      const { endpoint, secret } = await prisma.$transaction((tx) =>
        endpoints.create(tx, { kind: "user", id: viewer.id }, { organizationId, url, events }, at),
      );
      return { webhookEndpoint: endpoint, secret };
    },
  }),
);

const DeleteWebhookEndpointInput = builder.inputType("DeleteWebhookEndpointInput", {
  fields: (t) => ({ id: t.id({ required: true }) }),
});

const DeleteWebhookEndpointPayload = builder.objectRef<{ deletedWebhookEndpointId: string }>("DeleteWebhookEndpointPayload").implement({
  fields: (t) => ({ deletedWebhookEndpointId: t.exposeID("deletedWebhookEndpointId") }),
});

builder.mutationField("deleteWebhookEndpoint", (t) =>
  t.field({
    type: DeleteWebhookEndpointPayload,
    description: "Deletes a webhook endpoint: nothing more is sent to it, and its pending deliveries are dropped. Needs organization:update.",
    args: { input: t.arg({ type: DeleteWebhookEndpointInput, required: true }) },
    resolve: async (_root, { input }) => {
      const id = decodeIdOf("WebhookEndpoint", input.id, "id");
      const endpoint = await prisma.$transaction((tx) => endpoints.remove(tx, { id }, now()));
      return { deletedWebhookEndpointId: encodeId("WebhookEndpoint", endpoint.id) };
    },
  }),
);

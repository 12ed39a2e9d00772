/**
 * Subscriptions (GraphQL over SSE on /graphql): live invitation events. Each event is the timeline entry
 * (InvitationEvent: type, occurredAt, actor) with its invitation, loaded with the subscriber's selection once the
 * change has committed.
 *
 * Authorized like the queries they mirror, when subscribing and again for every event:
 * - invitationEvents(organizationId): members holding invitations:read (like organization.invitations). The
 *   viewer's permissions are read afresh for each event; once they no longer hold it, the stream sends one last
 *   result with that error (FORBIDDEN/MISSING_PERMISSION, or NOT_FOUND once no longer a member) and completes.
 * - viewerInvitationEvents: the signed-in viewer's own invitations, matched by the token's email as
 *   pendingInvitations does.
 * For both, a stream ends the same way (UNAUTHENTICATED) once the token it was opened with has expired.
 */
import { decodeJwt } from "jose";
import { builder, decodeIdOf } from "../builder.js";
import { now } from "../clock.js";
import type { Context } from "../context.js";
import { prisma } from "../db/client.js";
import type { AppError } from "../errors.js";
import { UnauthenticatedError } from "../errors.js";
import type { PublishedEvent } from "../events/publish.js";
import { createLoaders } from "../loaders.js";
import { requireOrganizationPermission, requireViewer } from "../permissions/access.js";
import type { Topic } from "../subscriptions/hub.js";
import "./event.js";

builder.subscriptionType({
  description: "Live events, over Server-Sent Events on /graphql (send Accept: text/event-stream).",
});

builder.prismaObjectField("InvitationEvent", "invitation", (t) =>
  t.relation("invitation", { description: "The invitation as it is now (after a deletion too)." }),
);

/** What a stream passes to the field's resolver: an event to load, or the error that ends the stream. */
type Item = { event: PublishedEvent } | { error: AppError };

/** When the request's token expires (it was verified already: this only reads `exp`). */
function tokenExpiry(ctx: Context): number | undefined {
  const header = (ctx as unknown as { request?: Request }).request?.headers.get("authorization") ?? "";
  const token = /^Bearer\s+(\S+)\s*$/i.exec(header)?.[1];
  if (!token) return undefined;
  try {
    const { exp } = decodeJwt(token);
    return typeof exp === "number" ? exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The stream for `topic`, after the subscribe-time check: counts against the viewer's open subscriptions, and runs
 * `allowed` before each event with fresh per-request facts (the loaders of a long-lived stream would otherwise keep
 * the permissions of the moment it was opened).
 */
function liveStream(ctx: Context, topic: Topic, allowed: () => Promise<void> | void): AsyncIterable<Item> {
  const viewer = requireViewer(ctx);
  const hub = ctx.subscriptions;
  if (!hub) throw new Error("Subscriptions are not set up on this server");
  const expiresAt = tokenExpiry(ctx);
  const release = hub.open(viewer.id, ctx.clientAddress?.());
  return hub.stream<Item>(
    topic,
    async (event) => {
      ctx.loaders = createLoaders(ctx.viewer);
      try {
        if (expiresAt !== undefined && now().getTime() >= expiresAt) throw new UnauthenticatedError("The token this subscription was opened with has expired.");
        await allowed();
        return { event };
      } catch (error) {
        return { end: { error: error as AppError } };
      }
    },
    release,
  );
}

function loadEvent(query: object, item: Item) {
  if ("error" in item) throw item.error;
  return prisma.invitationEvent.findUniqueOrThrow({ ...query, where: { id: item.event.eventId } });
}

builder.subscriptionField("invitationEvents", (t) =>
  t.prismaField({
    type: "InvitationEvent",
    description:
      "Every change of the organization's invitations, as it commits. Needs invitations:read, checked again for each event: " +
      "once it is lost the stream sends that error and completes.",
    args: { organizationId: t.arg.id({ required: true }) },
    subscribe: async (_root, args, ctx) => {
      const organizationId = decodeIdOf("Organization", args.organizationId, "organizationId");
      const check = () => requireOrganizationPermission(ctx, organizationId, "invitations:read");
      await check();
      return liveStream(ctx, { organizationId }, check);
    },
    resolve: (query, item) => loadEvent(query, item as unknown as Item),
  }),
);

builder.subscriptionField("viewerInvitationEvents", (t) =>
  t.prismaField({
    type: "InvitationEvent",
    description: "Every change of the invitations sent to the viewer's email, in any organization, as it commits.",
    subscribe: (_root, _args, ctx) => {
      const { email } = requireViewer(ctx);
      return liveStream(ctx, { email }, () => {
        requireViewer(ctx);
      });
    },
    resolve: (query, item) => loadEvent(query, item as unknown as Item),
  }),
);

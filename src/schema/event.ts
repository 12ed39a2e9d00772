/**
 * An invitation's audit timeline: every change, oldest first, from the same event rows the outbox delivers
 * (src/events/record.ts). Whoever may read the invitation reads its timeline.
 */
import { builder } from "../builder.js";
import { prisma } from "../db/client.js";
import { Prisma } from "../generated/prisma/client.js";
import { keysetConnection } from "./connections.js";
import { UserRef } from "./user.js";

export const InvitationEventTypeEnum = builder.enumType("InvitationEventType", {
  values: ["CREATED", "RESENT", "ACCEPTED", "DECLINED", "REVOKED", "DELETED", "EXPIRED"] as const,
});

export const InvitationEventRef = builder.prismaObject("InvitationEvent", {
  description: "One change of an invitation.",
  fields: (t) => ({
    type: t.expose("type", { type: InvitationEventTypeEnum }),
    occurredAt: t.expose("occurredAt", { type: "DateTime" }),
    actor: t.field({
      type: UserRef,
      nullable: true,
      description: "Who made the change; null when the server did (expiry).",
      select: { actor: true },
      resolve: (event) => event.actor,
    }),
  }),
});

export const InvitationEventConnection = builder.connectionObject({ type: InvitationEventRef, name: "InvitationEventConnection" });

builder.prismaObjectField("Invitation", "events", (t) =>
  t.connection(
    {
      type: InvitationEventRef,
      description: "Every change of this invitation, oldest first.",
      select: { id: true },
      resolve: (invitation, args, ctx, info) =>
        keysetConnection({
          table: "InvitationEvent",
          where: Prisma.sql`"invitationId" = ${invitation.id}::uuid`,
          args,
          ctx,
          info,
        }),
    },
    InvitationEventConnection,
  ),
);

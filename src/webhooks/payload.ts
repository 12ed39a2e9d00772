/**
 * The JSON body of a webhook: `{ type, timestamp, data: { invitation } }`, the invitation as it was right after the
 * change (the snapshot src/events/plan.ts stores with the event), with the same global IDs and ISO-8601 times as the
 * GraphQL API. Built from the stored event, so every retry sends the same body. It never holds a token: the event
 * has none (the raw token lives only on email deliveries) and the snapshot leaves out the token hash.
 */
import { encodeId } from "../builder.js";
import type { InvitationEventType } from "../events/record.js";
import { webhookEventType, type WebhookEventType } from "../events/plan.js";

export interface WebhookInvitation {
  id: string;
  organizationId: string;
  email: string;
  status: string;
  role: { id: string; key: string; name: string } | null;
  groupIds: string[];
  invitedById: string | null;
  inviteeId: string | null;
  metadata: unknown;
  createdAt: string;
  updatedAt: string;
  expiresAt: string;
  acceptedAt: string | null;
  declinedAt: string | null;
  revokedAt: string | null;
  deletedAt: string | null;
}

export interface WebhookBody {
  type: WebhookEventType;
  /** When the change happened (ISO-8601, UTC). */
  timestamp: string;
  data: { invitation: WebhookInvitation };
}

type Snapshot = Record<string, unknown>;

const time = (value: unknown) => (value == null ? null : new Date(value as string).toISOString());
const globalId = (typename: string, value: unknown) => (value == null ? null : encodeId(typename, value as string));

/** The body for an event; `data` is the stored snapshot (null only for events recorded before webhooks existed). */
export function webhookBody(event: { type: InvitationEventType; occurredAt: Date; invitationId: string; data: unknown }): WebhookBody {
  const s = (event.data ?? { id: event.invitationId }) as Snapshot;
  const role = s.role as { id: string; key: string; name: string } | null | undefined;
  return {
    type: webhookEventType(event.type),
    timestamp: event.occurredAt.toISOString(),
    data: {
      invitation: {
        id: encodeId("Invitation", event.invitationId),
        organizationId: globalId("Organization", s.organizationId)!,
        email: s.email as string,
        status: s.status as string,
        role: role ? { id: encodeId("Role", role.id), key: role.key, name: role.name } : null,
        groupIds: ((s.groupIds as string[] | undefined) ?? []).map((id) => encodeId("Group", id)),
        invitedById: globalId("User", s.invitedById),
        inviteeId: globalId("User", s.inviteeId),
        metadata: s.metadata ?? null,
        createdAt: time(s.createdAt)!,
        updatedAt: time(s.updatedAt)!,
        expiresAt: time(s.expiresAt)!,
        acceptedAt: time(s.acceptedAt),
        declinedAt: time(s.declinedAt),
        revokedAt: time(s.revokedAt),
        deletedAt: time(s.deletedAt),
      },
    },
  };
}

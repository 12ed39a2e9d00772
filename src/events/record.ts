/**
 * The one place each lifecycle operation reports its change, inside the transaction that made it. Today it records
 * nothing; the outbox (issue 6) will insert its event row here, so an event commits or rolls back with its change.
 */
import type { Invitation, Prisma } from "../generated/prisma/client.js";

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

/** Records `event` in the transaction `tx`. Deliberately a no-op until the outbox exists. */
export async function recordEvent(tx: Prisma.TransactionClient, event: InvitationEvent): Promise<void> {
  void tx;
  void event;
}

/**
 * What an invitation's state means at a given instant, as values and as Prisma filters. Shared by the schema (the
 * `status` field, the lists), the permission checks and the lifecycle operations, so all three agree on "pending".
 */
import type { Invitation, Prisma } from "../generated/prisma/client.js";
import { NOT_DELETED } from "../loaders.js";

export const INVITATION_STATUSES = ["PENDING", "ACCEPTED", "DECLINED", "REVOKED", "EXPIRED"] as const;
export type InvitationStatus = (typeof INVITATION_STATUSES)[number];

/** A pending invitation past its expiry reads as EXPIRED everywhere. */
export function effectiveStatus(invitation: Pick<Invitation, "status" | "expiresAt">, now: Date): InvitationStatus {
  return invitation.status === "PENDING" && invitation.expiresAt <= now ? "EXPIRED" : invitation.status;
}

/** The pending, unexpired invitations to an email. */
export function pendingInvitationsWhere(email: string, now: Date): Prisma.InvitationWhereInput {
  return { email, status: "PENDING", expiresAt: { gt: now }, ...NOT_DELETED };
}

function statusWhere(status: InvitationStatus, now: Date): Prisma.InvitationWhereInput {
  switch (status) {
    case "PENDING":
      return { status: "PENDING", expiresAt: { gt: now } };
    case "EXPIRED":
      return { OR: [{ status: "EXPIRED" }, { status: "PENDING", expiresAt: { lte: now } }] };
    default:
      return { status };
  }
}

/** Organization.invitations filters. An invalid email filter matches nothing (the field reports BAD_USER_INPUT). */
export function invitationListWhere(
  args: { status?: readonly InvitationStatus[] | null; email?: string | null },
  now: Date,
): Prisma.InvitationWhereInput {
  const where: Prisma.InvitationWhereInput[] = [NOT_DELETED];
  if (args.status && args.status.length > 0) where.push({ OR: args.status.map((s) => statusWhere(s, now)) });
  if (args.email != null) where.push({ email: args.email.trim().toLowerCase() });
  return { AND: where };
}

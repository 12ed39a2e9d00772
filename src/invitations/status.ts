/**
 * What an invitation's state means at a given instant, as values and as Prisma filters. Shared by the schema (the
 * `status` field, the lists), the permission checks and the lifecycle operations, so all three agree on "pending".
 */
import { Prisma, type Invitation } from "../generated/prisma/client.js";

export const DELIVERY_STATUSES = ["PENDING", "SENT", "FAILED", "DISABLED"] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

export const INVITATION_STATUSES = ["PENDING", "ACCEPTED", "DECLINED", "REVOKED", "EXPIRED"] as const;
export type InvitationStatus = (typeof INVITATION_STATUSES)[number];

/** A pending invitation past its expiry reads as EXPIRED everywhere. */
export function effectiveStatus(invitation: Pick<Invitation, "status" | "expiresAt">, now: Date): InvitationStatus {
  return invitation.status === "PENDING" && invitation.expiresAt <= now ? "EXPIRED" : invitation.status;
}

/** The pending, unexpired invitations to an email, as SQL on "Invitation" for the keyset lists. */
export function pendingInvitationsSql(email: string, now: Date): Prisma.Sql {
  return Prisma.sql`"email" = ${email} AND "status" = 'PENDING' AND "expiresAt" > ${now.toISOString()}::timestamptz AND "deletedAt" IS NULL`;
}

/** The filters of the invitation lists (organization.invitations, viewer.managedInvitations). */
export interface InvitationFilters {
  status?: readonly InvitationStatus[] | null;
  email?: string | null;
  deliveryStatus?: readonly DeliveryStatus[] | null;
}

/**
 * Organization.invitations filters, as SQL on "Invitation" for the keyset page (src/schema/connections.ts). An
 * invalid email filter never gets here: the field refuses it with BAD_USER_INPUT first.
 */
export function invitationListSql(organizationId: string, args: InvitationFilters, now: Date): Prisma.Sql {
  return Prisma.sql`"organizationId" = ${organizationId}::uuid AND ${invitationFilterSql(args, now)}`;
}

/** The list filters alone (not deleted, status, email, delivery status), for lists over several organizations. */
export function invitationFilterSql(args: InvitationFilters, now: Date): Prisma.Sql {
  const conditions = [Prisma.sql`"deletedAt" IS NULL`];
  const instant = Prisma.sql`${now.toISOString()}::timestamptz`;
  if (args.status && args.status.length > 0) {
    const statuses = args.status.map((status) => {
      switch (status) {
        case "PENDING":
          return Prisma.sql`("status" = 'PENDING' AND "expiresAt" > ${instant})`;
        case "EXPIRED":
          return Prisma.sql`("status" = 'EXPIRED' OR ("status" = 'PENDING' AND "expiresAt" <= ${instant}))`;
        default:
          return Prisma.sql`"status" = ${status}::"InvitationStatus"`;
      }
    });
    conditions.push(Prisma.sql`(${Prisma.join(statuses, " OR ")})`);
  }
  if (args.email != null) conditions.push(Prisma.sql`"email" = ${args.email.trim().toLowerCase()}`);
  if (args.deliveryStatus && args.deliveryStatus.length > 0) {
    // The latest email delivery's status (what Invitation.delivery shows). The list's table is aliased `t`.
    const wanted = Prisma.join(args.deliveryStatus.map((status) => Prisma.sql`${status}::"DeliveryStatus"`));
    conditions.push(Prisma.sql`(SELECT d."status" FROM "OutboxDelivery" AS d
      WHERE d."invitationId" = t."id" AND d."destination" = 'email' ORDER BY d."id" DESC LIMIT 1) IN (${wanted})`);
  }
  return Prisma.join(conditions, " AND ");
}

/**
 * Invitations: the type, the viewer's pending list, and the lifecycle mutations. Authorization happens before any
 * of these resolvers run (src/permissions); here every state change is one conditional update inside a transaction,
 * so concurrent requests are decided by the database.
 */
import { builder, decodeIdOf, encodeId } from "../builder.js";
import type { Context } from "../context.js";
import { prisma } from "../db/client.js";
import { BadUserInputError, ConflictError, NotFoundError, withConflicts } from "../errors.js";
import type { Invitation, Membership, Prisma } from "../generated/prisma/client.js";
import { NOT_DELETED } from "../loaders.js";
import { answerableInvitation, requireViewer } from "../permissions/access.js";
import { newToken } from "../invitations/token.js";
import { optionalExpiry, optionalMetadata, requireEmail } from "../validation.js";

import { NEWEST_FIRST } from "./connections.js";
import { MembershipRef } from "./membership.js";
import { UserRef } from "./user.js";

export type InvitationStatus = "PENDING" | "ACCEPTED" | "DECLINED" | "REVOKED" | "EXPIRED";

export const InvitationStatusEnum = builder.enumType("InvitationStatus", {
  values: ["PENDING", "ACCEPTED", "DECLINED", "REVOKED", "EXPIRED"] as const,
});

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

export const InvitationRef = builder.prismaNode("Invitation", {
  id: { field: "id" },
  fields: (t) => ({
    email: t.exposeString("email"),
    status: t.field({
      type: InvitationStatusEnum,
      select: { status: true, expiresAt: true },
      resolve: (invitation) => effectiveStatus(invitation, new Date()),
    }),
    organization: t.relation("organization"),
    role: t.relation("role"),
    groups: t.relation("groups", { query: { orderBy: { name: "asc" } } }),
    invitedBy: t.relation("invitedBy", { nullable: true }),
    invitee: t.field({
      type: UserRef,
      nullable: true,
      description: "The user who answered, or before an answer the user with this email, once known.",
      select: { email: true, invitee: true },
      resolve: (invitation, _args, ctx) => invitation.invitee ?? ctx.loaders.userByEmail.load(invitation.email),
    }),
    metadata: t.expose("metadata", { type: "JSON", nullable: true }),
    createdAt: t.expose("createdAt", { type: "DateTime" }),
    updatedAt: t.expose("updatedAt", { type: "DateTime" }),
    expiresAt: t.expose("expiresAt", { type: "DateTime" }),
    acceptedAt: t.expose("acceptedAt", { type: "DateTime", nullable: true }),
    declinedAt: t.expose("declinedAt", { type: "DateTime", nullable: true }),
    revokedAt: t.expose("revokedAt", { type: "DateTime", nullable: true }),
  }),
});

export const InvitationConnection = builder.connectionObject({ type: InvitationRef, name: "InvitationConnection" });

builder.queryField("pendingInvitations", (t) =>
  t.prismaConnection(
    {
      type: "Invitation",
      cursor: "id",
      description: "The viewer's invitations that await an answer and have not expired, across organizations; newest first.",
      resolve: (query, _root, _args, ctx) =>
        prisma.invitation.findMany({ ...query, where: pendingInvitationsWhere(requireViewer(ctx).email, new Date()), orderBy: NEWEST_FIRST }),
      totalCount: (_connection, _args, ctx) =>
        prisma.invitation.count({ where: pendingInvitationsWhere(requireViewer(ctx).email, new Date()) }),
    },
    InvitationConnection,
  ),
);

builder.prismaObjectField("User", "pendingInvitations", (t) =>
  t.prismaConnection(
    {
      type: "Invitation",
      cursor: "id",
      description: "Invitations to this user's email that await an answer and have not expired, newest first (self only).",
      resolve: (query, user) =>
        prisma.invitation.findMany({ ...query, where: pendingInvitationsWhere(user.email, new Date()), orderBy: NEWEST_FIRST }),
      totalCount: (user) => prisma.invitation.count({ where: pendingInvitationsWhere(user.email, new Date()) }),
    },
    InvitationConnection,
  ),
);

builder.queryField("invitation", (t) =>
  t.prismaField({
    type: "Invitation",
    nullable: true,
    description: "The invitee, and members with invitations:read, may read an invitation; anyone else gets NOT_FOUND.",
    args: { id: t.arg.id({ required: true }) },
    resolve: (query, _root, args) =>
      prisma.invitation.findFirst({ ...query, where: { id: decodeIdOf("Invitation", args.id, "id"), ...NOT_DELETED } }),
  }),
);

// ---- Mutations -------------------------------------------------------------------------------------------------

const CreateInvitationInput = builder.inputType("CreateInvitationInput", {
  fields: (t) => ({
    organizationId: t.id({ required: true }),
    email: t.string({ required: true, description: "Trimmed and lower-cased; at most 254 characters." }),
    roleId: t.id({ description: "A role of the organization; defaults to its member role." }),
    groupIds: t.idList({ description: "Groups of the organization the invitee joins on accepting." }),
    metadata: t.field({ type: "JSON", description: "A JSON object of at most 4 KB, returned with the invitation." }),
    expiresAt: t.field({ type: "DateTime", description: "In the future, at most 30 days ahead; default INVITATION_TTL_HOURS." }),
  }),
});

/** Accept and decline take the same input under their own names (codegen gives each mutation its own type). */
function answerInput(name: string) {
  return builder.inputType(name, {
    description: "Exactly one of invitationId or token.",
    fields: (t) => ({
      invitationId: t.id({ description: "The invitation's ID (the invitee, signed in)." }),
      token: t.string({ description: "The secret token from the invitation link." }),
    }),
  });
}
const AcceptInvitationInput = answerInput("AcceptInvitationInput");
const DeclineInvitationInput = answerInput("DeclineInvitationInput");

function invitationIdInput(name: string) {
  return builder.inputType(name, { fields: (t) => ({ invitationId: t.id({ required: true }) }) });
}
const RevokeInvitationInput = invitationIdInput("RevokeInvitationInput");
const ResendInvitationInput = invitationIdInput("ResendInvitationInput");
const DeleteInvitationInput = invitationIdInput("DeleteInvitationInput");

const InvitationWithTokenPayload = (name: string, description: string) =>
  builder.objectRef<{ invitation: Invitation; token: string }>(name).implement({
    fields: (t) => ({
      invitation: t.field({ type: InvitationRef, resolve: (p) => p.invitation }),
      token: t.exposeString("token", { description }),
    }),
  });

const TOKEN_DESCRIPTION = "The secret for the invitation link. Shown once: only its hash is stored.";
const CreateInvitationPayload = InvitationWithTokenPayload("CreateInvitationPayload", TOKEN_DESCRIPTION);
const ResendInvitationPayload = InvitationWithTokenPayload("ResendInvitationPayload", `${TOKEN_DESCRIPTION} The previous token stops working.`);

const AcceptInvitationPayload = builder.objectRef<{ invitation: Invitation; membership: Membership }>("AcceptInvitationPayload").implement({
  fields: (t) => ({
    invitation: t.field({ type: InvitationRef, resolve: (p) => p.invitation }),
    membership: t.field({ type: MembershipRef, resolve: (p) => p.membership }),
  }),
});

function invitationPayload(name: string) {
  return builder.objectRef<{ invitation: Invitation }>(name).implement({
    fields: (t) => ({ invitation: t.field({ type: InvitationRef, resolve: (p) => p.invitation }) }),
  });
}
const DeclineInvitationPayload = invitationPayload("DeclineInvitationPayload");
const RevokeInvitationPayload = invitationPayload("RevokeInvitationPayload");

const DeleteInvitationPayload = builder.objectRef<{ deletedInvitationId: string }>("DeleteInvitationPayload").implement({
  fields: (t) => ({ deletedInvitationId: t.exposeID("deletedInvitationId") }),
});

function expiryFrom(ctx: Context, now: Date): Date {
  return new Date(now.getTime() + ctx.settings.invitationTtlHours * 3600_000);
}

/** Why a conditional update matched nothing: the invitation is gone, expired, or answered already. */
async function explainNoMatch(tx: Prisma.TransactionClient, id: string, now: Date): Promise<never> {
  const current = await tx.invitation.findFirst({ where: { id, ...NOT_DELETED }, select: { status: true, expiresAt: true } });
  if (!current) throw new NotFoundError("Invitation");
  if (effectiveStatus(current, now) === "EXPIRED") {
    throw new ConflictError("INVITATION_EXPIRED", "This invitation has expired.");
  }
  throw new ConflictError("INVITATION_NOT_PENDING", `This invitation is ${current.status.toLowerCase()}, no longer pending.`);
}

/**
 * Serialises the transactions that decide "is this address a member, or invited?" for one (organization, email):
 * creating, resending and accepting. Without it, an accept committing between a create's member check and its insert
 * would leave a pending invitation for a member (the partial unique index cannot see memberships). Released at commit.
 */
async function lockAddress(tx: Prisma.TransactionClient, organizationId: string, email: string): Promise<void> {
  await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtextextended(${`${organizationId}:${email}`}, 0))`;
}

async function refuseMember(tx: Prisma.TransactionClient, organizationId: string, email: string): Promise<void> {
  const member = await tx.membership.findFirst({ where: { organizationId, user: { email } }, select: { id: true } });
  if (member) throw new ConflictError("ALREADY_MEMBER", `${email} is already a member of this organization.`);
}

/** Marks other pending-but-expired invitations for the same address EXPIRED, so they stop holding the unique slot. */
async function retireExpired(tx: Prisma.TransactionClient, organizationId: string, email: string, now: Date, exceptId?: string) {
  await tx.invitation.updateMany({
    where: { organizationId, email, status: "PENDING", expiresAt: { lte: now }, ...NOT_DELETED, ...(exceptId ? { id: { not: exceptId } } : {}) },
    data: { status: "EXPIRED" },
  });
}

builder.mutationField("createInvitation", (t) =>
  t.field({
    type: CreateInvitationPayload,
    description: "Invites an email into an organization with a role and groups. Needs invitations:create.",
    args: { input: t.arg({ type: CreateInvitationInput, required: true }) },
    resolve: async (_root, { input }, ctx) => {
      const viewer = requireViewer(ctx);
      const now = new Date();
      const organizationId = decodeIdOf("Organization", input.organizationId, "organizationId");
      const email = requireEmail(input.email, "email");
      const metadata = optionalMetadata(input.metadata, "metadata");
      const expiresAt = optionalExpiry(input.expiresAt, now, "expiresAt") ?? expiryFrom(ctx, now);
      const role = await invitationRole(ctx, organizationId, input.roleId);
      const groupIds = await organizationGroupIds(organizationId, input.groupIds);
      const { token, hash } = newToken();

      const invitation = await withConflicts(() => prisma.$transaction(async (tx) => {
        await lockAddress(tx, organizationId, email);
        await refuseMember(tx, organizationId, email);
        await retireExpired(tx, organizationId, email, now);
        return tx.invitation.create({
          data: {
            organizationId,
            email,
            roleId: role.id,
            invitedById: viewer.id,
            metadata: (metadata as Prisma.InputJsonObject | null) ?? undefined,
            tokenHash: hash,
            expiresAt,
            groups: { connect: groupIds.map((id) => ({ id })) },
          },
        });
      }));
      return { invitation, token };
    },
  }),
);

/** The role to grant: the given one (which must belong to the organization) or its member role. */
export async function invitationRole(ctx: Context, organizationId: string, roleGlobalId: string | null | undefined) {
  if (roleGlobalId == null) {
    const role = await ctx.loaders.defaultRole.load(organizationId);
    if (!role) throw new BadUserInputError("roleId", "The organization has no member role; give a roleId.");
    return role;
  }
  const role = await ctx.loaders.role.load(decodeIdOf("Role", roleGlobalId, "roleId"));
  if (!role || role.organizationId !== organizationId) {
    throw new BadUserInputError("roleId", "roleId must be a role of this organization.");
  }
  return role;
}

async function organizationGroupIds(organizationId: string, globalIds: readonly string[] | null | undefined): Promise<string[]> {
  if (!globalIds || globalIds.length === 0) return [];
  if (globalIds.length > 100) throw new BadUserInputError("groupIds", "At most 100 groups.");
  const ids = [...new Set(globalIds.map((g) => decodeIdOf("Group", g, "groupIds")))];
  const found = await prisma.group.count({ where: { id: { in: ids }, organizationId } });
  if (found !== ids.length) throw new BadUserInputError("groupIds", "groupIds must be groups of this organization.");
  return ids;
}

builder.mutationField("acceptInvitation", (t) =>
  t.field({
    type: AcceptInvitationPayload,
    description: "The invitee accepts: becomes a member with the invitation's role and groups.",
    args: { input: t.arg({ type: AcceptInvitationInput, required: true }) },
    resolve: async (_root, { input }, ctx) => {
      const viewer = requireViewer(ctx);
      const target = await answerableInvitation(ctx, input);
      const now = new Date();
      return withConflicts(() => prisma.$transaction(async (tx) => {
        await lockAddress(tx, target.organizationId, target.email);
        const { count } = await tx.invitation.updateMany({
          where: { id: target.id, status: "PENDING", expiresAt: { gt: now }, ...NOT_DELETED },
          data: { status: "ACCEPTED", acceptedAt: now, inviteeId: viewer.id },
        });
        if (count === 0) await explainNoMatch(tx, target.id, now);
        const invitation = await tx.invitation.findUniqueOrThrow({ where: { id: target.id }, include: { groups: { select: { id: true } } } });
        const existing = await tx.membership.findUnique({
          where: { userId_organizationId: { userId: viewer.id, organizationId: invitation.organizationId } },
          select: { id: true },
        });
        if (existing) throw new ConflictError("ALREADY_MEMBER", "You are already a member of this organization.");
        const membership = await tx.membership.create({
          data: {
            userId: viewer.id,
            organizationId: invitation.organizationId,
            roleId: invitation.roleId,
            groups: { connect: invitation.groups },
          },
        });
        return { invitation, membership };
      }));
    },
  }),
);

builder.mutationField("declineInvitation", (t) =>
  t.field({
    type: DeclineInvitationPayload,
    description: "The invitee declines.",
    args: { input: t.arg({ type: DeclineInvitationInput, required: true }) },
    resolve: async (_root, { input }, ctx) => {
      const viewer = requireViewer(ctx);
      const target = await answerableInvitation(ctx, input);
      const now = new Date();
      const invitation = await prisma.$transaction(async (tx) => {
        const { count } = await tx.invitation.updateMany({
          where: { id: target.id, status: "PENDING", expiresAt: { gt: now }, ...NOT_DELETED },
          data: { status: "DECLINED", declinedAt: now, inviteeId: viewer.id },
        });
        if (count === 0) await explainNoMatch(tx, target.id, now);
        return tx.invitation.findUniqueOrThrow({ where: { id: target.id } });
      });
      return { invitation };
    },
  }),
);

builder.mutationField("revokeInvitation", (t) =>
  t.field({
    type: RevokeInvitationPayload,
    description: "Revokes a pending or expired invitation. Needs invitations:revoke.",
    args: { input: t.arg({ type: RevokeInvitationInput, required: true }) },
    resolve: async (_root, { input }) => {
      const id = decodeIdOf("Invitation", input.invitationId, "invitationId");
      const now = new Date();
      const invitation = await prisma.$transaction(async (tx) => {
        const { count } = await tx.invitation.updateMany({
          where: { id, status: { in: ["PENDING", "EXPIRED"] }, ...NOT_DELETED },
          data: { status: "REVOKED", revokedAt: now },
        });
        if (count === 0) await explainNoMatch(tx, id, now);
        return tx.invitation.findUniqueOrThrow({ where: { id } });
      });
      return { invitation };
    },
  }),
);

builder.mutationField("resendInvitation", (t) =>
  t.field({
    type: ResendInvitationPayload,
    description:
      "Issues a new token and expiry for a pending or expired invitation (the old token stops working). Needs invitations:create.",
    args: { input: t.arg({ type: ResendInvitationInput, required: true }) },
    resolve: async (_root, { input }, ctx) => {
      const id = decodeIdOf("Invitation", input.invitationId, "invitationId");
      const now = new Date();
      const { token, hash } = newToken();
      const invitation = await withConflicts(() => prisma.$transaction(async (tx) => {
        const current = await tx.invitation.findFirst({ where: { id, ...NOT_DELETED }, select: { organizationId: true, email: true } });
        if (!current) throw new NotFoundError("Invitation");
        await lockAddress(tx, current.organizationId, current.email);
        await retireExpired(tx, current.organizationId, current.email, now, id);
        const { count } = await tx.invitation.updateMany({
          where: { id, status: { in: ["PENDING", "EXPIRED"] }, ...NOT_DELETED },
          data: { status: "PENDING", tokenHash: hash, expiresAt: expiryFrom(ctx, now) },
        });
        if (count === 0) await explainNoMatch(tx, id, now);
        // The address may have joined meanwhile (through a newer invitation): a pending invitation would be a dead end.
        await refuseMember(tx, current.organizationId, current.email);
        return tx.invitation.findUniqueOrThrow({ where: { id } });
      }));
      return { invitation, token };
    },
  }),
);

builder.mutationField("deleteInvitation", (t) =>
  t.field({
    type: DeleteInvitationPayload,
    description: "Removes an invitation, whatever its status, from every list and lookup. Needs invitations:revoke.",
    args: { input: t.arg({ type: DeleteInvitationInput, required: true }) },
    resolve: async (_root, { input }) => {
      const id = decodeIdOf("Invitation", input.invitationId, "invitationId");
      const { count } = await prisma.invitation.updateMany({ where: { id, ...NOT_DELETED }, data: { deletedAt: new Date() } });
      if (count === 0) throw new NotFoundError("Invitation");
      return { deletedInvitationId: encodeId("Invitation", id) };
    },
  }),
);

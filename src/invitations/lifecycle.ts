/**
 * The invitation lifecycle, apart from GraphQL: create, accept, decline, revoke, resend and delete. Each takes a
 * Prisma transaction client, the actor and the instant of the change, makes one conditional write (so concurrent
 * requests are decided by the database), records its event in the same transaction, and returns the row.
 *
 * Authorization is not checked here: the shield rules do it before a request gets this far, and a worker calls these
 * functions as the system actor. What must hold whoever calls (a member is never left with a pending invitation, an
 * answer by token only counts while that token is current) is enforced here.
 */
import { ConflictError, NotFoundError } from "../errors.js";
import { eventWithDeliveryCtes, recordEvent, type Actor } from "../events/record.js";
import { Prisma, type Invitation, type Membership } from "../generated/prisma/client.js";
import { uuidv7 } from "../ids.js";
import { NOT_DELETED } from "../loaders.js";
import { effectiveStatus } from "./status.js";
import { newToken } from "./token.js";

type Tx = Prisma.TransactionClient;
export type UserActor = Extract<Actor, { kind: "user" }>;

export interface CreateInput {
  organizationId: string;
  /** Already normalised (trimmed, lower-cased) and validated. */
  email: string;
  roleId: string;
  /** Groups of the organization, checked by the caller. */
  groupIds: readonly string[];
  metadata: Prisma.InputJsonObject | null;
  expiresAt: Date;
}

/** A new pending invitation, and its token (shown once: only its hash is stored). */
export async function create(tx: Tx, actor: Actor, input: CreateInput, now: Date): Promise<{ invitation: Invitation; token: string }> {
  const { organizationId, email } = input;
  const { token, hash } = newToken();
  await lockAddress(tx, organizationId, email);
  await retireExpiredRefusingMember(tx, organizationId, email, now);
  // The invitation, its groups, its CREATED event and its email in one statement (a data-modifying CTE each; the
  // foreign keys are checked at the end of the statement, when every row is there). Prisma's create would take a
  // statement of its own, and one more per nested write.
  const id = uuidv7();
  const groups =
    input.groupIds.length > 0
      ? Prisma.sql`grouped AS (INSERT INTO "_InvitationGroups" ("A", "B") SELECT g, ${id}::uuid FROM unnest(${[...input.groupIds]}::uuid[]) AS g),`
      : Prisma.empty;
  const actorId = actor.kind === "user" ? actor.id : null;
  const [invitation] = await tx.$queryRaw<Invitation[]>`
    WITH inserted AS (
      INSERT INTO "Invitation" ("id", "organizationId", "email", "status", "roleId", "invitedById", "metadata", "tokenHash", "expiresAt", "createdAt", "updatedAt")
      VALUES (${id}::uuid, ${organizationId}::uuid, ${email}, 'PENDING', ${input.roleId}::uuid, ${actorId}::uuid,
        ${input.metadata === null ? null : JSON.stringify(input.metadata)}::jsonb, ${hash}, ${input.expiresAt}, ${now}, ${now})
      RETURNING *),
    ${groups}
    ${eventWithDeliveryCtes({ invitationId: id, organizationId, type: "CREATED", actorId, occurredAt: now, token })}
    SELECT * FROM inserted`;
  return { invitation: invitation!, token };
}

/** The invitation being answered, as the permission check found it. */
export interface AnswerTarget {
  id: string;
  organizationId: string;
  email: string;
  /**
   * Set when the invitee answers with the token from the link: the answer then only counts if this is still the
   * invitation's token when the write commits, so a resend that commits first wins (the old link is dead).
   */
  tokenHash?: string;
}

/** The invitee accepts: the invitation becomes ACCEPTED and they become a member with its role and groups. */
export async function accept(
  tx: Tx,
  invitee: UserActor,
  target: AnswerTarget,
  now: Date,
): Promise<{ invitation: Invitation; membership: Membership }> {
  await lockAddress(tx, target.organizationId, target.email);
  await answer(tx, target, now, { status: "ACCEPTED", acceptedAt: now, inviteeId: invitee.id });
  const invitation = await tx.invitation.findUniqueOrThrow({ where: { id: target.id }, include: { groups: { select: { id: true } } } });
  const existing = await tx.membership.findUnique({
    where: { userId_organizationId: { userId: invitee.id, organizationId: invitation.organizationId } },
    select: { id: true },
  });
  if (existing) throw new ConflictError("ALREADY_MEMBER", "You are already a member of this organization.");
  const membership = await tx.membership.create({
    data: {
      userId: invitee.id,
      organizationId: invitation.organizationId,
      roleId: invitation.roleId,
      groups: { connect: invitation.groups },
    },
  });
  const { groups: _groups, ...row } = invitation;
  await recordEvent(tx, { type: "ACCEPTED", invitation: row, actor: invitee, occurredAt: now });
  return { invitation: row, membership };
}

/** The invitee declines. */
export async function decline(tx: Tx, invitee: UserActor, target: AnswerTarget, now: Date): Promise<Invitation> {
  await answer(tx, target, now, { status: "DECLINED", declinedAt: now, inviteeId: invitee.id });
  const invitation = await tx.invitation.findUniqueOrThrow({ where: { id: target.id } });
  await recordEvent(tx, { type: "DECLINED", invitation, actor: invitee, occurredAt: now });
  return invitation;
}

/** Moves a pending (or expired) invitation to REVOKED. */
export async function revoke(tx: Tx, actor: Actor, input: { id: string }, now: Date): Promise<Invitation> {
  const { id } = input;
  const { count } = await tx.invitation.updateMany({
    where: { id, status: { in: ["PENDING", "EXPIRED"] }, ...NOT_DELETED },
    data: { status: "REVOKED", revokedAt: now },
  });
  if (count === 0) await explainNoMatch(tx, id, now);
  const invitation = await tx.invitation.findUniqueOrThrow({ where: { id } });
  await recordEvent(tx, { type: "REVOKED", invitation, actor, occurredAt: now });
  return invitation;
}

/**
 * A new token and expiry for a pending or expired invitation (an expired one becomes pending again). The previous
 * token stops working at commit.
 */
export async function resend(
  tx: Tx,
  actor: Actor,
  input: { id: string; expiresAt: Date },
  now: Date,
): Promise<{ invitation: Invitation; token: string }> {
  const { id } = input;
  const { token, hash } = newToken();
  const current = await tx.invitation.findFirst({ where: { id, ...NOT_DELETED }, select: { organizationId: true, email: true } });
  if (!current) throw new NotFoundError("Invitation");
  await lockAddress(tx, current.organizationId, current.email);
  await retireExpired(tx, current.organizationId, current.email, now, id);
  const { count } = await tx.invitation.updateMany({
    where: { id, status: { in: ["PENDING", "EXPIRED"] }, ...NOT_DELETED },
    data: { status: "PENDING", tokenHash: hash, expiresAt: input.expiresAt },
  });
  if (count === 0) await explainNoMatch(tx, id, now);
  // The address may have joined meanwhile (through a newer invitation): a pending invitation would be a dead end.
  await refuseMember(tx, current.organizationId, current.email);
  const invitation = await tx.invitation.findUniqueOrThrow({ where: { id } });
  await recordEvent(tx, { type: "RESENT", invitation, actor, occurredAt: now, token });
  return { invitation, token };
}

/** Removes an invitation, whatever its status, from every list and lookup (a soft delete). */
export async function remove(tx: Tx, actor: Actor, input: { id: string }, now: Date): Promise<Invitation> {
  const { id } = input;
  const { count } = await tx.invitation.updateMany({ where: { id, ...NOT_DELETED }, data: { deletedAt: now } });
  if (count === 0) throw new NotFoundError("Invitation");
  const invitation = await tx.invitation.findUniqueOrThrow({ where: { id } });
  await recordEvent(tx, { type: "DELETED", invitation, actor, occurredAt: now });
  return invitation;
}

// ---- Shared steps ----------------------------------------------------------------------------------------------

/** The conditional update of an answer: only a pending, unexpired invitation (still on the same token, by token). */
async function answer(tx: Tx, target: AnswerTarget, now: Date, data: Prisma.InvitationUpdateManyMutationInput & { inviteeId: string }) {
  const { count } = await tx.invitation.updateMany({
    where: {
      id: target.id,
      status: "PENDING",
      expiresAt: { gt: now },
      ...(target.tokenHash !== undefined ? { tokenHash: target.tokenHash } : {}),
      ...NOT_DELETED,
    },
    data,
  });
  if (count === 0) await explainNoMatch(tx, target.id, now, target.tokenHash);
}

/**
 * Why a conditional update matched nothing: the invitation is gone (or, by token, the token was replaced, which
 * the contract treats like an unknown token), expired, or answered already.
 */
async function explainNoMatch(tx: Tx, id: string, now: Date, tokenHash?: string): Promise<never> {
  const current = await tx.invitation.findFirst({
    where: { id, ...NOT_DELETED },
    select: { status: true, expiresAt: true, tokenHash: true },
  });
  if (!current || (tokenHash !== undefined && current.tokenHash !== tokenHash)) throw new NotFoundError("Invitation");
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
async function lockAddress(tx: Tx, organizationId: string, email: string): Promise<void> {
  await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtextextended(${addressLockKey(organizationId, email)}, 0))`;
}

/** The text whose `hashtextextended(…, 0)` is the advisory lock of one address (exported for the race tests). */
export function addressLockKey(organizationId: string, email: string): string {
  return `${organizationId}:${email}`;
}

async function refuseMember(tx: Tx, organizationId: string, email: string): Promise<void> {
  const member = await tx.membership.findFirst({ where: { organizationId, user: { email } }, select: { id: true } });
  if (member) throw new ConflictError("ALREADY_MEMBER", `${email} is already a member of this organization.`);
}

/**
 * `retireExpired` and `refuseMember` in one round trip, for create (the hot write). The update runs whatever the
 * answer; a member makes the caller throw, which rolls it back with the rest of the transaction.
 */
async function retireExpiredRefusingMember(tx: Tx, organizationId: string, email: string, now: Date): Promise<void> {
  const [row] = await tx.$queryRaw<{ member: boolean }[]>`
    WITH retired AS (
      UPDATE "Invitation" SET "status" = 'EXPIRED', "updatedAt" = ${now.toISOString()}::timestamptz
       WHERE "organizationId" = ${organizationId}::uuid AND "email" = ${email} AND "status" = 'PENDING'
         AND "expiresAt" <= ${now.toISOString()}::timestamptz AND "deletedAt" IS NULL
      RETURNING 1
    )
    SELECT EXISTS (
      SELECT 1 FROM "Membership" m JOIN "User" u ON u."id" = m."userId" WHERE m."organizationId" = ${organizationId}::uuid AND u."email" = ${email}
    ) AS member`;
  if (row?.member) throw new ConflictError("ALREADY_MEMBER", `${email} is already a member of this organization.`);
}

/** Marks other pending-but-expired invitations for the same address EXPIRED, so they stop holding the unique slot. */
async function retireExpired(tx: Tx, organizationId: string, email: string, now: Date, exceptId?: string): Promise<void> {
  await tx.invitation.updateMany({
    where: { organizationId, email, status: "PENDING", expiresAt: { lte: now }, ...NOT_DELETED, ...(exceptId ? { id: { not: exceptId } } : {}) },
    data: { status: "EXPIRED" },
  });
}

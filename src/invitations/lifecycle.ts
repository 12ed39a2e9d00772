/**
 * The invitation lifecycle, apart from GraphQL: create, accept, decline, revoke, resend and delete. Each takes a
 * Prisma transaction client, the actor and the instant of the change, makes one conditional write (so concurrent
 * requests are decided by the database), records its event in the same transaction, and returns the row.
 *
 * Authorization is not checked here: the shield rules do it before a request gets this far, and a worker calls these
 * functions as the system actor. What must hold whoever calls (a member is never left with a pending invitation, an
 * answer by token only counts while that token is current) is enforced here.
 */
import { ConflictError, ForbiddenError, NotFoundError } from "../errors.js";
import { eventWithDeliveryCtes, keepLive, recordEvent, type Actor } from "../events/record.js";
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

/**
 * A new pending invitation, and its token (shown once: only its hash is stored). Refused when the address is outside
 * the organization's allowed domains (FORBIDDEN/DOMAIN_NOT_ALLOWED), a member (ALREADY_MEMBER), invited already
 * (ALREADY_INVITED), or when no seat is left (SEAT_LIMIT_REACHED).
 *
 * ONE statement, atomic by itself: `db` need not be a transaction, and createInvitation runs it outside one (no
 * BEGIN and COMMIT round trips; src/events/publish.ts statementWithEvents). invitation_address_checks (migration
 * 0006) takes the address and organization locks and checks the address with what committed before them; the
 * invitation, its groups, its CREATED event, its email and its webhook deliveries are data-modifying CTEs that write
 * only when every check passed (the foreign keys are checked at the end of the statement, when every row is there).
 * A refusal writes nothing but the retirement of the address's expired invitations (which had expired anyway).
 */
export async function create(db: Tx, actor: Actor, input: CreateInput, now: Date): Promise<{ invitation: Invitation; token: string }> {
  const { organizationId, email } = input;
  const { token, hash } = newToken();
  const id = uuidv7();
  const groupIds = [...input.groupIds];
  const groups =
    groupIds.length > 0
      ? Prisma.sql`grouped AS (INSERT INTO "_InvitationGroups" ("A", "B") SELECT g, i."id" FROM inserted AS i, unnest(${groupIds}::uuid[]) AS g),`
      : Prisma.empty;
  const actorId = actor.kind === "user" ? actor.id : null;
  const eventId = uuidv7();
  const rows = await db.$queryRaw<Array<Invitation & Checked>>`
    WITH checked AS MATERIALIZED (
      SELECT * FROM invitation_address_checks(${organizationId}::uuid, ARRAY[${email}]::text[], ${now}::timestamptz)),
    inserted AS (
      INSERT INTO "Invitation" ("id", "organizationId", "email", "status", "roleId", "invitedById", "metadata", "tokenHash", "expiresAt", "createdAt", "updatedAt")
      SELECT ${id}::uuid, ${organizationId}::uuid, ${email}::text, 'PENDING'::"InvitationStatus", ${input.roleId}::uuid, ${actorId}::uuid,
        ${input.metadata === null ? null : JSON.stringify(input.metadata)}::jsonb, ${hash}::text, ${input.expiresAt}::timestamptz,
        ${now}::timestamptz, ${now}::timestamptz
      FROM checked AS c
      WHERE NOT c."member" AND NOT c."invited"
        AND (cardinality(c."allowedEmailDomains") = 0 OR ${emailDomain(email)} = ANY(c."allowedEmailDomains"))
        AND (c."seatLimit" IS NULL OR c."seatsUsed" < c."seatLimit")
      RETURNING *),
    ${groups}
    ${eventWithDeliveryCtes({
      eventId,
      invitationId: id,
      organizationId,
      type: "CREATED",
      actorId,
      occurredAt: now,
      token,
      source: { invitation: Prisma.sql`inserted AS i`, groupIds: Prisma.sql`to_jsonb(${groupIds}::uuid[])` },
    })}
    SELECT i.*, c."member" AS "checkedMember", c."invited" AS "checkedInvited", c."seatsUsed" AS "checkedSeatsUsed",
      c."seatLimit" AS "checkedSeatLimit", c."allowedEmailDomains" AS "checkedAllowedEmailDomains"
    FROM checked AS c LEFT JOIN inserted AS i ON true`;
  const row = rows[0];
  if (!row) throw new NotFoundError("Organization");
  const { checkedMember, checkedInvited, checkedSeatsUsed, checkedSeatLimit, checkedAllowedEmailDomains, ...invitation } = row;
  if (invitation.id === null) {
    // Nothing was written: the same refusals, in the same order, as the statement's conditions.
    const limits = { seatLimit: checkedSeatLimit, allowedEmailDomains: checkedAllowedEmailDomains };
    requireAllowedDomain(limits, email);
    refuseTaken(email, { member: checkedMember, invited: checkedInvited });
    if (seatsLeft(limits, checkedSeatsUsed) < 1) throw seatLimitReached(limits);
    throw new Error("createInvitation wrote nothing, yet every check passed");
  }
  keepLive(db, eventId, { type: "CREATED", invitation, occurredAt: now });
  return { invitation, token };
}

/** What invitation_address_checks answered for the address, beside the invitation's columns (null when refused). */
interface Checked {
  checkedMember: boolean;
  checkedInvited: boolean;
  checkedSeatsUsed: number | null;
  checkedSeatLimit: number | null;
  checkedAllowedEmailDomains: string[];
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

/**
 * `expectedVersion`, when given, is the version the client last read: the change is made only if the invitation is
 * still at that version (checked in the same conditional write), else CONFLICT/STALE_VERSION.
 */
export interface VersionedInput {
  id: string;
  expectedVersion?: number | null;
}

const atVersion = (expectedVersion: number | null | undefined) => (expectedVersion != null ? { version: expectedVersion } : {});

/** Moves a pending (or expired) invitation to REVOKED. */
export async function revoke(tx: Tx, actor: Actor, input: VersionedInput, now: Date): Promise<Invitation> {
  const { id, expectedVersion } = input;
  const { count } = await tx.invitation.updateMany({
    where: { id, status: { in: ["PENDING", "EXPIRED"] }, ...atVersion(expectedVersion), ...NOT_DELETED },
    data: { status: "REVOKED", revokedAt: now, version: { increment: 1 } },
  });
  if (count === 0) await explainNoMatch(tx, id, now, { expectedVersion });
  const invitation = await tx.invitation.findUniqueOrThrow({ where: { id } });
  await recordEvent(tx, { type: "REVOKED", invitation, actor, occurredAt: now });
  return invitation;
}

/**
 * A new token and expiry for a pending or expired invitation (an expired one becomes pending again). The previous
 * token stops working at commit. The address must still be in the organization's allowed domains, and an expired
 * invitation, which holds no seat, needs a free one to become pending again; a pending one keeps its seat.
 */
export async function resend(
  tx: Tx,
  actor: Actor,
  input: VersionedInput & { expiresAt: Date },
  now: Date,
): Promise<{ invitation: Invitation; token: string }> {
  const { id, expectedVersion } = input;
  const { token, hash } = newToken();
  const current = await tx.invitation.findFirst({ where: { id, ...NOT_DELETED }, select: { organizationId: true, email: true } });
  if (!current) throw new NotFoundError("Invitation");
  const limits = await lockAddresses(tx, current.organizationId, [current.email]);
  await retireExpired(tx, current.organizationId, current.email, now, id);
  // Read under the lock, before the write: does this invitation hold a seat now, and how many do the others use?
  const seats = limits.seatLimit === null ? undefined : await seatsBesides(tx, current.organizationId, id, now);
  const { count } = await tx.invitation.updateMany({
    where: { id, status: { in: ["PENDING", "EXPIRED"] }, ...atVersion(expectedVersion), ...NOT_DELETED },
    data: { status: "PENDING", tokenHash: hash, expiresAt: input.expiresAt, version: { increment: 1 } },
  });
  if (count === 0) await explainNoMatch(tx, id, now, { expectedVersion });
  // Refusals after the write (which they roll back), so that STALE_VERSION and INVITATION_NOT_PENDING come first.
  requireAllowedDomain(limits, current.email);
  if (seats && !seats.holdsSeat && seatsLeft(limits, seats.used) < 1) throw seatLimitReached(limits);
  // The address may have joined meanwhile (through a newer invitation): a pending invitation would be a dead end.
  await refuseMember(tx, current.organizationId, current.email);
  const invitation = await tx.invitation.findUniqueOrThrow({ where: { id } });
  await recordEvent(tx, { type: "RESENT", invitation, actor, occurredAt: now, token });
  return { invitation, token };
}

/** Removes an invitation, whatever its status, from every list and lookup (a soft delete). */
export async function remove(tx: Tx, actor: Actor, input: VersionedInput, now: Date): Promise<Invitation> {
  const { id, expectedVersion } = input;
  const { count } = await tx.invitation.updateMany({
    where: { id, ...atVersion(expectedVersion), ...NOT_DELETED },
    data: { deletedAt: now, version: { increment: 1 } },
  });
  if (count === 0) await explainNoMatch(tx, id, now, { expectedVersion });
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
    data: { ...data, version: { increment: 1 } },
  });
  if (count === 0) await explainNoMatch(tx, target.id, now, { tokenHash: target.tokenHash });
}

/**
 * Why a conditional update matched nothing: the invitation is gone (or, by token, the token was replaced, which
 * the contract treats like an unknown token), at another version than the client expected, expired, or answered
 * already.
 */
async function explainNoMatch(
  tx: Tx,
  id: string,
  now: Date,
  expected: { tokenHash?: string; expectedVersion?: number | null } = {},
): Promise<never> {
  const current = await tx.invitation.findFirst({
    where: { id, ...NOT_DELETED },
    select: { status: true, expiresAt: true, tokenHash: true, version: true },
  });
  if (!current || (expected.tokenHash !== undefined && current.tokenHash !== expected.tokenHash)) throw new NotFoundError("Invitation");
  if (expected.expectedVersion != null && current.version !== expected.expectedVersion) {
    throw new ConflictError(
      "STALE_VERSION",
      `The invitation changed since you read it: it is at version ${current.version}, not ${expected.expectedVersion}. Read it again.`,
    );
  }
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

/** What invitations into an organization must respect (Organization.seatLimit, Organization.allowedEmailDomains). */
export interface OrganizationLimits {
  seatLimit: number | null;
  allowedEmailDomains: string[];
}

/**
 * The locks of the transaction that resends an invitation, in one statement: the address locks of `emails`
 * (lockAddress; in sorted order, as invitation_address_checks takes a bulk's), then the organization's row (FOR NO
 * KEY UPDATE, which does not block the foreign-key checks of other writes), which serialises everything that takes
 * seats in one organization: a seat counted by the next statement (a new snapshot) stays counted until commit. Returns the organization's limits as of the lock (NOT_FOUND when it is gone).
 */
export async function lockAddresses(tx: Tx, organizationId: string, emails: readonly string[]): Promise<OrganizationLimits> {
  const keys = [...new Set(emails.map((email) => addressLockKey(organizationId, email)))].sort();
  const rows = await tx.$queryRaw<OrganizationLimits[]>`
    SELECT o."seatLimit", o."allowedEmailDomains"
    FROM "Organization" AS o,
      (SELECT count(pg_advisory_xact_lock(hashtextextended(k, 0))) FROM unnest(${keys}::text[]) AS k) AS locked
    WHERE o."id" = ${organizationId}::uuid
    FOR NO KEY UPDATE OF o`;
  const row = rows[0];
  if (!row) throw new NotFoundError("Organization");
  return { seatLimit: row.seatLimit, allowedEmailDomains: row.allowedEmailDomains ?? [] };
}

/** The part of an address after its "@". */
function emailDomain(email: string): string {
  return email.slice(email.lastIndexOf("@") + 1);
}

export function domainAllowed(limits: OrganizationLimits, email: string): boolean {
  return limits.allowedEmailDomains.length === 0 || limits.allowedEmailDomains.includes(emailDomain(email));
}

export function domainNotAllowed(email: string): ForbiddenError {
  return new ForbiddenError("DOMAIN_NOT_ALLOWED", `This organization only invites addresses of its allowed domains; ${emailDomain(email)} is not one.`);
}

function requireAllowedDomain(limits: OrganizationLimits, email: string): void {
  if (!domainAllowed(limits, email)) throw domainNotAllowed(email);
}

/** Seats still free (Infinity without a limit; 0 when the limit was lowered below what is used). */
export function seatsLeft(limits: OrganizationLimits, seatsUsed: number | null): number {
  if (limits.seatLimit === null) return Number.POSITIVE_INFINITY;
  return Math.max(0, limits.seatLimit - (seatsUsed ?? 0));
}

export function seatLimitReached(limits: OrganizationLimits): ConflictError {
  return new ConflictError(
    "SEAT_LIMIT_REACHED",
    `Every seat is taken: members and pending invitations already fill the organization's ${limits.seatLimit} seats.`,
  );
}

/** Whether an address is a member of the organization, and whether it has a pending (unexpired) invitation there. */
export interface AddressState {
  member: boolean;
  invited: boolean;
}

/** ALREADY_MEMBER or ALREADY_INVITED for an address that is taken. */
export function takenError(email: string, state: AddressState | undefined): ConflictError | undefined {
  if (state?.member) return new ConflictError("ALREADY_MEMBER", `${email} is already a member of this organization.`);
  if (state?.invited) return new ConflictError("ALREADY_INVITED", `${email} already has a pending invitation to this organization.`);
  return undefined;
}

function refuseTaken(email: string, state: AddressState | undefined): void {
  const error = takenError(email, state);
  if (error) throw error;
}

/**
 * The locks and checks before inviting `emails` (a bulk's hundred), in one statement: invitation_address_checks
 * (migration 0006) takes the address locks and the organization's row lock (held until the transaction `tx` commits),
 * retires the addresses' pending-but-expired invitations (retireExpired), and answers for each whether it is a member
 * or invited, with the organization's limits and, when it has a seat limit, the seats used: members plus pending,
 * unexpired invitations. Read after the locks were granted, so they stay true until commit. `emails` must not be
 * empty; NOT_FOUND when the organization is gone.
 */
export async function addressChecks(
  tx: Tx,
  organizationId: string,
  emails: readonly string[],
  now: Date,
): Promise<{ limits: OrganizationLimits; states: Map<string, AddressState>; seatsUsed: number | null }> {
  const rows = await tx.$queryRaw<Array<AddressState & OrganizationLimits & { email: string; seatsUsed: number | null }>>`
    SELECT * FROM invitation_address_checks(${organizationId}::uuid, ${[...emails]}::text[], ${now}::timestamptz)`;
  const first = rows[0];
  if (!first) throw new NotFoundError("Organization");
  const states = new Map(rows.map((row) => [row.email, { member: row.member, invited: row.invited }]));
  return { limits: { seatLimit: first.seatLimit, allowedEmailDomains: first.allowedEmailDomains }, states, seatsUsed: first.seatsUsed };
}

/** Seats used in an organization: members plus pending, unexpired invitations (as an int). */
function seatsUsedSql(org: Prisma.Sql, at: Prisma.Sql, exceptInvitation?: string): Prisma.Sql {
  const except = exceptInvitation ? Prisma.sql`AND "id" <> ${exceptInvitation}::uuid` : Prisma.empty;
  return Prisma.sql`SELECT ((SELECT count(*) FROM "Membership" WHERE "organizationId" = ${org})
    + (SELECT count(*) FROM "Invitation" WHERE "organizationId" = ${org} AND "status" = 'PENDING'
        AND "expiresAt" > ${at} AND "deletedAt" IS NULL ${except}))::int`;
}

/** For a resend: whether the invitation holds a seat now (pending, unexpired), and the seats everything else uses. */
async function seatsBesides(tx: Tx, organizationId: string, id: string, now: Date): Promise<{ holdsSeat: boolean; used: number }> {
  const at = Prisma.sql`${now.toISOString()}::timestamptz`;
  const [row] = await tx.$queryRaw<Array<{ holdsSeat: boolean; used: number }>>(Prisma.sql`
    SELECT EXISTS (SELECT 1 FROM "Invitation" WHERE "id" = ${id}::uuid AND "status" = 'PENDING' AND "expiresAt" > ${at}
                     AND "deletedAt" IS NULL) AS "holdsSeat",
           (${seatsUsedSql(Prisma.sql`${organizationId}::uuid`, at, id)}) AS "used"`);
  return row ?? { holdsSeat: false, used: 0 };
}

/** Marks other pending-but-expired invitations for the same address EXPIRED, so they stop holding the unique slot. */
async function retireExpired(tx: Tx, organizationId: string, email: string, now: Date, exceptId?: string): Promise<void> {
  await tx.invitation.updateMany({
    where: { organizationId, email, status: "PENDING", expiresAt: { lte: now }, ...NOT_DELETED, ...(exceptId ? { id: { not: exceptId } } : {}) },
    data: { status: "EXPIRED" },
  });
}

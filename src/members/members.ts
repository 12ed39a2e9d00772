/**
 * Member management, apart from GraphQL: change a member's role and groups, remove a member, leave an organization.
 * Each takes a Prisma transaction client, the actor and the instant, and returns what it changed.
 *
 * Authorization (members:manage, the role-escalation rules) is checked by the shield rules before a request gets
 * here. What must hold whoever calls is enforced here: an organization always keeps at least one member with the
 * owner role. Every operation that could take the last owner away first locks the organization's row, so two owners
 * demoting or removing each other at the same instant are serialised, and the second sees the first's change.
 *
 * Removing a member changes nothing else: invitations they sent stay as they are (pending ones can still be
 * accepted) and keep naming them as `invitedBy`; an admin revokes them explicitly if that is wanted.
 *
 * These changes record no event yet: the event rows and the outbox (src/events/record.ts) hold invitation events
 * only. Membership events (for webhooks and subscriptions) belong here, written with `tx` beside each change so they
 * commit or roll back with it.
 */
import { BadUserInputError, ConflictError, NotFoundError } from "../errors.js";
import type { Actor } from "../events/record.js";
import type { Membership, Prisma } from "../generated/prisma/client.js";
import { OWNER_ROLE_KEY } from "../permissions/catalog.js";

type Tx = Prisma.TransactionClient;

export interface UpdateMembershipInput {
  id: string;
  /** The new role (a role of the membership's organization, checked here again under the lock). */
  roleId?: string;
  /** The complete new set of groups (groups of the organization, checked by the caller); undefined leaves them. */
  groupIds?: readonly string[];
}

/** Changes a member's role and/or groups. */
export async function updateMembership(tx: Tx, _actor: Actor, input: UpdateMembershipInput, _now: Date): Promise<Membership> {
  const current = await lockedMembership(tx, { id: input.id });
  if (input.roleId !== undefined && input.roleId !== current.roleId) {
    const role = await tx.role.findFirst({ where: { id: input.roleId, organizationId: current.organizationId }, select: { key: true } });
    if (!role) throw new BadUserInputError("roleId", "roleId must be a role of this organization.");
    if (current.role.key === OWNER_ROLE_KEY && role.key !== OWNER_ROLE_KEY) await requireAnotherOwner(tx, current.organizationId);
  }
  return tx.membership.update({
    where: { id: current.id },
    data: {
      ...(input.roleId !== undefined ? { roleId: input.roleId } : {}),
      ...(input.groupIds !== undefined ? { groups: { set: input.groupIds.map((id) => ({ id })) } } : {}),
    },
  });
}

/** Removes a member from their organization (the user row and everything they did stay). */
export async function removeMember(tx: Tx, _actor: Actor, input: { id: string }, _now: Date): Promise<Membership> {
  const current = await lockedMembership(tx, { id: input.id });
  return deleteMembership(tx, current);
}

/** The user leaves an organization they are a member of. */
export async function leaveOrganization(tx: Tx, actor: Extract<Actor, { kind: "user" }>, input: { organizationId: string }, _now: Date): Promise<Membership> {
  const current = await lockedMembership(tx, { userId: actor.id, organizationId: input.organizationId });
  return deleteMembership(tx, current);
}

async function deleteMembership(tx: Tx, current: LockedMembership): Promise<Membership> {
  if (current.role.key === OWNER_ROLE_KEY) await requireAnotherOwner(tx, current.organizationId);
  return tx.membership.delete({ where: { id: current.id } });
}

interface LockedMembership {
  id: string;
  organizationId: string;
  roleId: string;
  role: { key: string };
}

/**
 * Locks the row of the membership's organization (FOR UPDATE, until commit), then reads the membership as it is
 * now: a concurrent change that committed while this one waited is seen, not overwritten.
 */
async function lockedMembership(tx: Tx, by: { id: string } | { userId: string; organizationId: string }): Promise<LockedMembership> {
  const rows =
    "id" in by
      ? await tx.$queryRaw<{ id: string }[]>`
          SELECT o."id" FROM "Organization" o JOIN "Membership" m ON m."organizationId" = o."id"
           WHERE m."id" = ${by.id}::uuid FOR UPDATE OF o`
      : await tx.$queryRaw<{ id: string }[]>`SELECT "id" FROM "Organization" WHERE "id" = ${by.organizationId}::uuid FOR UPDATE`;
  if (rows.length === 0) throw new NotFoundError("Membership");
  const membership = await tx.membership.findFirst({
    where: "id" in by ? { id: by.id } : { userId: by.userId, organizationId: by.organizationId },
    select: { id: true, organizationId: true, roleId: true, role: { select: { key: true } } },
  });
  if (!membership) throw new NotFoundError("Membership");
  return membership;
}

/** LAST_OWNER unless the organization has another member with the owner role. Called with the organization locked. */
async function requireAnotherOwner(tx: Tx, organizationId: string): Promise<void> {
  const owners = await tx.membership.count({ where: { organizationId, role: { key: OWNER_ROLE_KEY } } });
  if (owners <= 1) {
    throw new ConflictError("LAST_OWNER", "An organization keeps at least one owner: make another member owner first.");
  }
}

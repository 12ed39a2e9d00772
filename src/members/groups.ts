/**
 * Groups, apart from GraphQL: rename and delete (create stays in src/schema/group.ts, a single insert). Authorization
 * (members:manage) is checked by the shield rules first.
 */
import { NotFoundError } from "../errors.js";
import type { Actor } from "../events/record.js";
import type { Group, Prisma } from "../generated/prisma/client.js";

type Tx = Prisma.TransactionClient;

/** Renames a group; a name the organization already has is CONFLICT/GROUP_NAME_TAKEN (the unique index decides). */
export async function updateGroup(tx: Tx, _actor: Actor, input: { id: string; name: string }, _now: Date): Promise<Group> {
  const { count } = await tx.group.updateMany({ where: { id: input.id }, data: { name: input.name } });
  if (count === 0) throw new NotFoundError("Group");
  return tx.group.findUniqueOrThrow({ where: { id: input.id } });
}

/**
 * Deletes a group. Its links to memberships and invitations go with it (the join tables cascade): members keep their
 * membership, pending invitations stay pending, both without this group.
 */
export async function deleteGroup(tx: Tx, _actor: Actor, input: { id: string }, _now: Date): Promise<Group> {
  const group = await tx.group.findUnique({ where: { id: input.id } });
  if (!group) throw new NotFoundError("Group");
  await tx.group.delete({ where: { id: input.id } });
  return group;
}

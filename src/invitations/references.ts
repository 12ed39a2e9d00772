/**
 * The role and groups a client names when inviting, resolved and checked against the organization. Used by the
 * createInvitation field (to build the row) and by its permission rule (to refuse role escalation before it runs).
 */
import { decodeIdOf } from "../builder.js";
import { prisma } from "../db/client.js";
import { BadUserInputError } from "../errors.js";
import type { Loaders } from "../loaders.js";

/** The role to grant: the given one (which must belong to the organization) or its member role. */
export async function invitationRole(loaders: Loaders, organizationId: string, roleGlobalId: string | null | undefined) {
  if (roleGlobalId == null) {
    const role = await loaders.defaultRole.load(organizationId);
    if (!role) throw new BadUserInputError("roleId", "The organization has no member role; give a roleId.");
    return role;
  }
  const role = await loaders.role.load(decodeIdOf("Role", roleGlobalId, "roleId"));
  if (!role || role.organizationId !== organizationId) {
    throw new BadUserInputError("roleId", "roleId must be a role of this organization.");
  }
  return role;
}

/** Database ids of the given groups, each of which must belong to the organization (at most 100, duplicates merged). */
export async function organizationGroupIds(organizationId: string, globalIds: readonly string[] | null | undefined): Promise<string[]> {
  const [ids] = await organizationGroupIdLists(organizationId, [globalIds], () => "groupIds");
  if (ids instanceof BadUserInputError) throw ids;
  return ids!;
}

/**
 * organizationGroupIds for many lists at once (a bulk invitation's), in one statement: for each list its database
 * ids, or the BAD_USER_INPUT error naming `fieldOf(index)`.
 */
export async function organizationGroupIdLists(
  organizationId: string,
  lists: ReadonlyArray<readonly string[] | null | undefined>,
  fieldOf: (index: number) => string,
): Promise<Array<string[] | BadUserInputError>> {
  const decoded = lists.map((globalIds, index): string[] | BadUserInputError => {
    if (!globalIds || globalIds.length === 0) return [];
    const field = fieldOf(index);
    if (globalIds.length > 100) return new BadUserInputError(field, "At most 100 groups.");
    try {
      return [...new Set(globalIds.map((g) => decodeIdOf("Group", g, field)))];
    } catch (error) {
      if (error instanceof BadUserInputError) return error;
      throw error;
    }
  });
  const wanted = [...new Set(decoded.flatMap((ids) => (Array.isArray(ids) ? ids : [])))];
  const found =
    wanted.length === 0
      ? new Set<string>()
      : new Set((await prisma.group.findMany({ where: { id: { in: wanted }, organizationId }, select: { id: true } })).map((g) => g.id));
  return decoded.map((ids, index) =>
    Array.isArray(ids) && ids.some((id) => !found.has(id))
      ? new BadUserInputError(fieldOf(index), "groupIds must be groups of this organization.")
      : ids,
  );
}

/**
 * Custom roles, apart from GraphQL: create, edit, delete. Each takes a Prisma transaction client, the actor and the
 * instant. Authorization (roles:manage, and no one creating or editing a role with permissions they lack) is checked
 * by the shield rules first; what must hold whoever calls is enforced here:
 *
 * - The built-in roles (owner, admin, member) cannot be deleted, and no role's key changes. The owner role keeps
 *   every permission of the catalogue (its name may change); admin's and member's permissions may be edited.
 * - A role in use cannot be deleted (CONFLICT/ROLE_IN_USE): held by a member, named by a pending or expired
 *   invitation (which a resend would revive), or named by any invitation kept in the history (answered, revoked,
 *   deleted), since `Invitation.role` must keep answering. The role's row is locked first (FOR UPDATE), which also
 *   makes a concurrent insert naming it wait (its foreign-key check takes FOR KEY SHARE on the row): either the
 *   insert commits first and the delete sees it, or the delete commits first and the insert fails.
 */
import { randomBytes } from "node:crypto";
import { BadUserInputError, ConflictError, NotFoundError } from "../errors.js";
import type { Actor } from "../events/record.js";
import type { Prisma, Role } from "../generated/prisma/client.js";
import { DEFAULT_ROLES, OWNER_ROLE_KEY, PERMISSIONS, type Permission } from "../permissions/catalog.js";
import { slugify } from "../validation.js";

type Tx = Prisma.TransactionClient;

const BUILT_IN_KEYS: ReadonlySet<string> = new Set(DEFAULT_ROLES.map((r) => r.key));

function isBuiltInRole(role: Pick<Role, "key">): boolean {
  return BUILT_IN_KEYS.has(role.key);
}

export interface CreateRoleInput {
  organizationId: string;
  /** Validated; when absent, derived from the name (with a short random suffix when taken). */
  key: string | null;
  name: string;
  permissions: readonly Permission[];
}

/** A custom role. An explicit key the organization already has is CONFLICT/ROLE_KEY_TAKEN. */
export async function createRole(tx: Tx, _actor: Actor, input: CreateRoleInput, _now: Date): Promise<Role> {
  const data = { organizationId: input.organizationId, name: input.name, permissions: [...input.permissions] };
  if (input.key !== null) return tx.role.create({ data: { ...data, key: input.key } });
  // A derived key: the first one free. Checked with a read (a failed insert would abort the transaction); the unique
  // index still decides a race, as ROLE_KEY_TAKEN.
  // slugify answers "org" when nothing usable is left (a name in another script): a role's fallback is "role".
  const slug = slugify(input.name);
  const base = (slug === "org" && !/org/i.test(input.name) ? "role" : slug).replace(/-/g, "_");
  for (let attempt = 0; ; attempt += 1) {
    const key = attempt === 0 ? base : `${base}_${randomBytes(2).toString("hex")}`;
    const taken = await tx.role.findUnique({ where: { organizationId_key: { organizationId: input.organizationId, key } }, select: { id: true } });
    if (!taken || attempt >= 4) return tx.role.create({ data: { ...data, key } });
  }
}

export interface UpdateRoleInput {
  id: string;
  name?: string;
  permissions?: readonly Permission[];
}

/** Renames a role and/or replaces its permissions; every member holding it gets the new permissions at once. */
export async function updateRole(tx: Tx, _actor: Actor, input: UpdateRoleInput, _now: Date): Promise<Role> {
  const role = await tx.role.findUnique({ where: { id: input.id }, select: { key: true } });
  if (!role) throw new NotFoundError("Role");
  if (role.key === OWNER_ROLE_KEY && input.permissions !== undefined && input.permissions.length !== PERMISSIONS.length) {
    throw new BadUserInputError("permissions", "The owner role keeps every permission; only its name may change.");
  }
  return tx.role.update({
    where: { id: input.id },
    data: {
      ...(input.name !== undefined ? { name: input.name } : {}),
      ...(input.permissions !== undefined ? { permissions: [...input.permissions] } : {}),
    },
  });
}

/** Deletes a custom role that nothing names. */
export async function deleteRole(tx: Tx, _actor: Actor, input: { id: string }, _now: Date): Promise<Role> {
  const [role] = await tx.$queryRaw<Pick<Role, "id" | "key">[]>`SELECT "id", "key" FROM "Role" WHERE "id" = ${input.id}::uuid FOR UPDATE`;
  if (!role) throw new NotFoundError("Role");
  if (isBuiltInRole(role)) throw new ConflictError("BUILT_IN_ROLE", `The built-in ${role.key} role cannot be deleted.`);
  const [use] = await tx.$queryRaw<{ members: number; pending: number; past: number }[]>`
    SELECT (SELECT count(*)::int FROM "Membership" WHERE "roleId" = ${input.id}::uuid) AS members,
           (SELECT count(*)::int FROM "Invitation" WHERE "roleId" = ${input.id}::uuid
              AND "status" IN ('PENDING', 'EXPIRED') AND "deletedAt" IS NULL) AS pending,
           (SELECT count(*)::int FROM "Invitation" WHERE "roleId" = ${input.id}::uuid) AS past`;
  if (use!.members > 0 || use!.pending > 0) {
    throw new ConflictError(
      "ROLE_IN_USE",
      `This role is held by ${use!.members} member(s) and named by ${use!.pending} open invitation(s): give them another role first.`,
    );
  }
  if (use!.past > 0) {
    throw new ConflictError("ROLE_IN_USE", "Past invitations name this role and keep it for their history; it cannot be deleted.");
  }
  return tx.role.delete({ where: { id: input.id } });
}

import { builder, decodeIdOf, encodeId } from "../builder.js";
import { now } from "../clock.js";
import type { Context } from "../context.js";
import { prisma } from "../db/client.js";
import { withConflicts } from "../errors.js";
import type { Role } from "../generated/prisma/client.js";
import { requireViewer } from "../permissions/access.js";
import * as roles from "../roles/roles.js";
import { requireName, requirePermissionList, requireRoleKey } from "../validation.js";

export const RoleRef = builder.prismaNode("Role", {
  id: { field: "id" },
  fields: (t) => ({
    key: t.exposeString("key", { description: "Stable identifier: owner, admin, member, or a custom key." }),
    name: t.exposeString("name"),
    permissions: t.exposeStringList("permissions"),
  }),
});

// ---- Mutations -------------------------------------------------------------------------------------------------

const PERMISSIONS_DESCRIPTION = "A subset of the permission catalogue; no one creates or edits a role with permissions they lack.";

const CreateRoleInput = builder.inputType("CreateRoleInput", {
  fields: (t) => ({
    organizationId: t.id({ required: true }),
    key: t.string({ description: "Lower-case letters, digits, inner hyphens and underscores, unique in the organization; derived from the name when absent. Never changes." }),
    name: t.string({ required: true, description: "At most 100 characters." }),
    permissions: t.stringList({ required: true, description: PERMISSIONS_DESCRIPTION }),
  }),
});

const UpdateRoleInput = builder.inputType("UpdateRoleInput", {
  fields: (t) => ({
    roleId: t.id({ required: true }),
    name: t.string({ description: "At most 100 characters; absent leaves it." }),
    permissions: t.stringList({ description: `${PERMISSIONS_DESCRIPTION} Absent leaves them; the owner role keeps every permission.` }),
  }),
});

const DeleteRoleInput = builder.inputType("DeleteRoleInput", { fields: (t) => ({ roleId: t.id({ required: true }) }) });

const rolePayload = (name: string) =>
  builder.objectRef<{ role: Role }>(name).implement({ fields: (t) => ({ role: t.field({ type: RoleRef, resolve: (p) => p.role }) }) });
const CreateRolePayload = rolePayload("CreateRolePayload");
const UpdateRolePayload = rolePayload("UpdateRolePayload");
const DeleteRolePayload = builder.objectRef<{ deletedRoleId: string }>("DeleteRolePayload").implement({
  fields: (t) => ({ deletedRoleId: t.exposeID("deletedRoleId") }),
});

const actorOf = (ctx: Context) => ({ kind: "user" as const, id: requireViewer(ctx).id });

builder.mutationField("createRole", (t) =>
  t.field({
    type: CreateRolePayload,
    description: "Creates a custom role. Needs roles:manage, and every permission the role grants.",
    args: { input: t.arg({ type: CreateRoleInput, required: true }) },
    resolve: async (_root, { input }, ctx) => {
      const actor = actorOf(ctx);
      const organizationId = decodeIdOf("Organization", input.organizationId, "organizationId");
      const key = input.key == null ? null : requireRoleKey(input.key);
      const name = requireName(input.name, "name");
      const permissions = requirePermissionList(input.permissions);
      const at = now();
      const role = await withConflicts(() =>
        prisma.$transaction((tx) => roles.createRole(tx, actor, { organizationId, key, name, permissions }, at)),
      );
      return { role };
    },
  }),
);

builder.mutationField("updateRole", (t) =>
  t.field({
    type: UpdateRolePayload,
    description:
      "Renames a role and/or replaces its permissions (every member holding it is affected at once). Needs roles:manage, and every permission the role holds before and after.",
    args: { input: t.arg({ type: UpdateRoleInput, required: true }) },
    resolve: async (_root, { input }, ctx) => {
      const actor = actorOf(ctx);
      const id = decodeIdOf("Role", input.roleId, "roleId");
      const name = input.name == null ? undefined : requireName(input.name, "name");
      const permissions = input.permissions == null ? undefined : requirePermissionList(input.permissions);
      const at = now();
      const role = await prisma.$transaction((tx) => roles.updateRole(tx, actor, { id, name, permissions }, at));
      return { role };
    },
  }),
);

builder.mutationField("deleteRole", (t) =>
  t.field({
    type: DeleteRolePayload,
    description:
      "Deletes a custom role. Needs roles:manage. Built-in roles cannot be deleted (BUILT_IN_ROLE); nor can a role in use (ROLE_IN_USE).",
    args: { input: t.arg({ type: DeleteRoleInput, required: true }) },
    resolve: async (_root, { input }, ctx) => {
      const actor = actorOf(ctx);
      const id = decodeIdOf("Role", input.roleId, "roleId");
      const at = now();
      const role = await prisma.$transaction((tx) => roles.deleteRole(tx, actor, { id }, at));
      return { deletedRoleId: encodeId("Role", role.id) };
    },
  }),
);

import { builder, decodeIdOf, encodeId } from "../builder.js";
import { now } from "../clock.js";
import { withConflicts } from "../errors.js";
import { prisma } from "../db/client.js";
import type { Group } from "../generated/prisma/client.js";
import * as groups from "../members/groups.js";
import { requireViewer } from "../permissions/access.js";
import { requireName } from "../validation.js";

export const GroupRef = builder.prismaNode("Group", {
  id: { field: "id" },
  fields: (t) => ({
    name: t.exposeString("name"),
  }),
});

const CreateGroupInput = builder.inputType("CreateGroupInput", {
  fields: (t) => ({
    organizationId: t.id({ required: true }),
    name: t.string({ required: true, description: "Unique within the organization; at most 100 characters." }),
  }),
});

const CreateGroupPayload = builder.objectRef<{ group: Group }>("CreateGroupPayload").implement({
  fields: (t) => ({ group: t.field({ type: GroupRef, resolve: (payload) => payload.group }) }),
});

builder.mutationField("createGroup", (t) =>
  t.field({
    type: CreateGroupPayload,
    description: "Creates a group in an organization. Needs members:manage.",
    args: { input: t.arg({ type: CreateGroupInput, required: true }) },
    resolve: async (_root, { input }) => {
      const organizationId = decodeIdOf("Organization", input.organizationId, "organizationId");
      const name = requireName(input.name, "name");
      const group = await withConflicts(() => prisma.group.create({ data: { organizationId, name } }));
      return { group };
    },
  }),
);

const UpdateGroupInput = builder.inputType("UpdateGroupInput", {
  fields: (t) => ({
    groupId: t.id({ required: true }),
    name: t.string({ required: true, description: "Unique within the organization; at most 100 characters." }),
  }),
});

const DeleteGroupInput = builder.inputType("DeleteGroupInput", { fields: (t) => ({ groupId: t.id({ required: true }) }) });

const UpdateGroupPayload = builder.objectRef<{ group: Group }>("UpdateGroupPayload").implement({
  fields: (t) => ({ group: t.field({ type: GroupRef, resolve: (payload) => payload.group }) }),
});

const DeleteGroupPayload = builder.objectRef<{ deletedGroupId: string }>("DeleteGroupPayload").implement({
  fields: (t) => ({ deletedGroupId: t.exposeID("deletedGroupId") }),
});

builder.mutationField("updateGroup", (t) =>
  t.field({
    type: UpdateGroupPayload,
    description: "Renames a group (GROUP_NAME_TAKEN when the organization has the name). Needs members:manage.",
    args: { input: t.arg({ type: UpdateGroupInput, required: true }) },
    resolve: async (_root, { input }, ctx) => {
      const actor = { kind: "user" as const, id: requireViewer(ctx).id };
      const id = decodeIdOf("Group", input.groupId, "groupId");
      const name = requireName(input.name, "name");
      const at = now();
      const group = await withConflicts(() => prisma.$transaction((tx) => groups.updateGroup(tx, actor, { id, name }, at)));
      return { group };
    },
  }),
);

builder.mutationField("deleteGroup", (t) =>
  t.field({
    type: DeleteGroupPayload,
    description: "Deletes a group; memberships and invitations lose it and are otherwise unchanged. Needs members:manage.",
    args: { input: t.arg({ type: DeleteGroupInput, required: true }) },
    resolve: async (_root, { input }, ctx) => {
      const actor = { kind: "user" as const, id: requireViewer(ctx).id };
      const id = decodeIdOf("Group", input.groupId, "groupId");
      const at = now();
      const group = await prisma.$transaction((tx) => groups.deleteGroup(tx, actor, { id }, at));
      return { deletedGroupId: encodeId("Group", group.id) };
    },
  }),
);

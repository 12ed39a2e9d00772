import { builder, decodeIdOf } from "../builder.js";
import { withConflicts } from "../errors.js";
import { prisma } from "../db/client.js";
import type { Group } from "../generated/prisma/client.js";
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

import { builder } from "../builder.js";

export const RoleRef = builder.prismaNode("Role", {
  id: { field: "id" },
  fields: (t) => ({
    key: t.exposeString("key", { description: "Stable identifier: owner, admin, member, or a custom key." }),
    name: t.exposeString("name"),
    permissions: t.exposeStringList("permissions"),
  }),
});

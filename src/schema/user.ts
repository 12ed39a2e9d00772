import { builder, decodeIdOf } from "../builder.js";
import { prisma } from "../db/client.js";
import { canSeeEmail, requireViewer } from "../permissions/access.js";

export const UserRef = builder.prismaNode("User", {
  id: { field: "id" },
  fields: (t) => ({
    email: t.string({
      nullable: true,
      description: "Shown to the user themself and to fellow members of an organization; null for anyone else.",
      resolve: async (user, _args, ctx) => ((await canSeeEmail(ctx, user.id)) ? user.email : null),
    }),
    name: t.exposeString("name", { nullable: true }),
    avatarUrl: t.exposeString("avatarUrl", { nullable: true }),
  }),
});

builder.queryField("viewer", (t) =>
  t.prismaField({
    type: "User",
    description: "The signed-in user. UNAUTHENTICATED without a token.",
    resolve: (query, _root, _args, ctx) => prisma.user.findUniqueOrThrow({ ...query, where: { id: requireViewer(ctx).id } }),
  }),
);

builder.queryField("user", (t) =>
  t.prismaField({
    type: "User",
    nullable: true,
    description: "The viewer and fellow members of their organizations; anyone else gets NOT_FOUND.",
    args: { id: t.arg.id({ required: true }) },
    resolve: (query, _root, args) => prisma.user.findUnique({ ...query, where: { id: decodeIdOf("User", args.id, "id") } }),
  }),
);

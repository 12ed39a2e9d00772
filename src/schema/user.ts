import { builder, decodeIdOf } from "../builder.js";
import { findOneById } from "../db/read-sql.js";
import type { User } from "../generated/prisma/client.js";
import { canSeeEmail, requireViewer } from "../permissions/access.js";
import { readsColumns, selectedColumnsAt } from "./columns.js";

export const UserRef = builder.prismaNode("User", {
  id: { field: "id" },
  fields: (t) => ({
    email: t.string({
      nullable: true,
      description: "Shown to the user themself and to fellow members of an organization; null for anyone else.",
      extensions: readsColumns("email"),
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
    resolve: async (query, _root, _args, ctx, info) => {
      const user = await findOneById<User>("User", requireViewer(ctx).id, selectedColumnsAt("User", query, info, []));
      if (!user) throw new Error("The signed-in user's row is missing");
      return user;
    },
  }),
);

builder.queryField("user", (t) =>
  t.prismaField({
    type: "User",
    nullable: true,
    description: "The viewer and fellow members of their organizations; anyone else gets NOT_FOUND.",
    args: { id: t.arg.id({ required: true }) },
    resolve: (query, _root, args, _ctx, info) =>
      findOneById<User>("User", decodeIdOf("User", args.id, "id"), selectedColumnsAt("User", query, info, [])),
  }),
);

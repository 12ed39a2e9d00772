import { builder } from "../builder.js";
import { prisma } from "../db/client.js";
import { Prisma } from "../generated/prisma/client.js";
import { keysetConnection } from "./connections.js";

export const MembershipRef = builder.prismaNode("Membership", {
  id: { field: "id" },
  fields: (t) => ({
    user: t.relation("user"),
    organization: t.relation("organization"),
    role: t.relation("role"),
    groups: t.relation("groups", { query: { orderBy: { name: "asc" } } }),
    createdAt: t.expose("createdAt", { type: "DateTime" }),
  }),
});

export const MembershipConnection = builder.connectionObject({ type: MembershipRef, name: "MembershipConnection" });

builder.prismaObjectField("User", "memberships", (t) =>
  t.connection(
    {
      type: MembershipRef,
      description: "The user's memberships, newest first (self only).",
      resolve: (user, args, ctx, info) =>
        keysetConnection({
          table: "Membership",
          where: Prisma.sql`"userId" = ${user.id}::uuid`,
          args,
          ctx,
          info,
          load: (ids, query) => prisma.membership.findMany({ ...query, where: { id: { in: ids } } }),
        }),
    },
    MembershipConnection,
  ),
);

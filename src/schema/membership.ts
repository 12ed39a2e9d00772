import { builder } from "../builder.js";
import { NEWEST_FIRST } from "./connections.js";

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
  t.relatedConnection(
    "memberships",
    { cursor: "id", totalCount: true, query: { orderBy: NEWEST_FIRST }, description: "The user's memberships, newest first (self only)." },
    MembershipConnection,
  ),
);

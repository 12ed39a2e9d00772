import { builder, decodeIdOf, encodeId } from "../builder.js";
import { now } from "../clock.js";
import type { Context } from "../context.js";
import { prisma } from "../db/client.js";
import { BadUserInputError, withConflicts } from "../errors.js";
import { Prisma, type Membership } from "../generated/prisma/client.js";
import { invitationRole, organizationGroupIds } from "../invitations/references.js";
import * as members from "../members/members.js";
import { requireViewer } from "../permissions/access.js";
import { keysetConnection } from "./connections.js";
import { readsColumns } from "./columns.js";

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
      extensions: readsColumns(),
      resolve: (user, args, ctx, info) =>
        keysetConnection({
          table: "Membership",
          where: Prisma.sql`"userId" = ${user.id}::uuid`,
          args,
          ctx,
          info,
        }),
    },
    MembershipConnection,
  ),
);

// ---- Mutations -------------------------------------------------------------------------------------------------

const UpdateMembershipInput = builder.inputType("UpdateMembershipInput", {
  description: "At least one of roleId or groupIds.",
  fields: (t) => ({
    membershipId: t.id({ required: true }),
    roleId: t.id({ description: "A role of the organization; no one grants a role holding a permission they lack." }),
    groupIds: t.idList({ description: "The member's complete new set of groups ([] removes every group); absent leaves them." }),
  }),
});

const UpdateMembershipPayload = builder.objectRef<{ membership: Membership }>("UpdateMembershipPayload").implement({
  fields: (t) => ({ membership: t.field({ type: MembershipRef, resolve: (p) => p.membership }) }),
});

const RemoveMemberInput = builder.inputType("RemoveMemberInput", { fields: (t) => ({ membershipId: t.id({ required: true }) }) });
const LeaveOrganizationInput = builder.inputType("LeaveOrganizationInput", { fields: (t) => ({ organizationId: t.id({ required: true }) }) });

const removedPayload = (name: string) =>
  builder.objectRef<{ removedMembershipId: string }>(name).implement({
    fields: (t) => ({ removedMembershipId: t.exposeID("removedMembershipId", { description: "The global ID of the membership that ended." }) }),
  });
const RemoveMemberPayload = removedPayload("RemoveMemberPayload");
const LeaveOrganizationPayload = removedPayload("LeaveOrganizationPayload");

const actorOf = (ctx: Context) => ({ kind: "user" as const, id: requireViewer(ctx).id });

builder.mutationField("updateMembership", (t) =>
  t.field({
    type: UpdateMembershipPayload,
    description:
      "Changes a member's role and/or groups. Needs members:manage; no one changes a member whose role holds a permission they lack, or grants such a role. The last owner cannot be demoted (LAST_OWNER).",
    args: { input: t.arg({ type: UpdateMembershipInput, required: true }) },
    resolve: async (_root, { input }, ctx) => {
      const actor = actorOf(ctx);
      const id = decodeIdOf("Membership", input.membershipId, "membershipId");
      if (input.roleId == null && input.groupIds == null) throw new BadUserInputError("roleId", "Give roleId, groupIds or both.");
      const current = (await ctx.loaders.membership.load(id))!;
      const roleId = input.roleId == null ? undefined : (await invitationRole(ctx.loaders, current.organizationId, input.roleId)).id;
      const groupIds = input.groupIds == null ? undefined : await organizationGroupIds(current.organizationId, input.groupIds);
      const at = now();
      const membership = await withConflicts(() =>
        prisma.$transaction((tx) => members.updateMembership(tx, actor, { id, roleId, groupIds }, at)),
      );
      return { membership };
    },
  }),
);

builder.mutationField("removeMember", (t) =>
  t.field({
    type: RemoveMemberPayload,
    description:
      "Removes a member. Needs members:manage, and a role holding every permission of theirs. Invitations they sent stay (invitedBy keeps naming them). The last owner cannot be removed (LAST_OWNER).",
    args: { input: t.arg({ type: RemoveMemberInput, required: true }) },
    resolve: async (_root, { input }, ctx) => {
      const actor = actorOf(ctx);
      const id = decodeIdOf("Membership", input.membershipId, "membershipId");
      const at = now();
      const removed = await prisma.$transaction((tx) => members.removeMember(tx, actor, { id }, at));
      return { removedMembershipId: encodeId("Membership", removed.id) };
    },
  }),
);

builder.mutationField("leaveOrganization", (t) =>
  t.field({
    type: LeaveOrganizationPayload,
    description: "The viewer leaves an organization. Needs only membership; the last owner cannot leave (LAST_OWNER).",
    args: { input: t.arg({ type: LeaveOrganizationInput, required: true }) },
    resolve: async (_root, { input }, ctx) => {
      const actor = actorOf(ctx);
      const organizationId = decodeIdOf("Organization", input.organizationId, "organizationId");
      const at = now();
      const removed = await prisma.$transaction((tx) => members.leaveOrganization(tx, actor, { organizationId }, at));
      return { removedMembershipId: encodeId("Membership", removed.id) };
    },
  }),
);

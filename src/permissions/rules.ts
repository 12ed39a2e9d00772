/**
 * graphql-shield rules. Each answers from per-request facts (ctx.loaders) and returns true or the contract error.
 * Caching is off in shield itself: the facts are memoised per request already, and shield's argument hashing would
 * cost more than the checks.
 */
import type { GraphQLResolveInfo } from "graphql";
import { rule } from "./shield.js";
import { decodeId, decodeIdOf } from "../builder.js";
import type { Context } from "../context.js";
import { prisma } from "../db/client.js";
import { ForbiddenError, NotFoundError } from "../errors.js";
import {
  answerableInvitation,
  manageableInvitation,
  organizationVisibility,
  permissionsIn,
  readableInvitation,
  organizationVisibility as visibility,
  requireNoEscalation,
  requireNoHigherRole,
  requireOrganizationPermission,
  requireViewer,
  type AnswerInput,
} from "./access.js";
import type { Permission } from "./catalog.js";
import { invitationRole } from "../invitations/references.js";
import { requirePermissionList } from "../validation.js";

type Args = Record<string, unknown>;
type Check = (parent: unknown, args: Args, ctx: Context, info: GraphQLResolveInfo) => Promise<void> | void;

/**
 * A rule from a check that throws the contract error when it fails. shield turns an error thrown by a rule into
 * `false` (and so into its generic fallback error), so the error is returned instead: shield then hands it to
 * graphql-js as the field's error, and the server's masking decides what the client sees.
 */
function check(name: string, fn: Check) {
  return rule(name, { cache: "no_cache" })(async (parent, args, ctx, info) => {
    try {
      await fn(parent, args as Args, ctx as Context, info);
      return true;
    } catch (error) {
      return error instanceof Error ? error : new Error(String(error));
    }
  });
}

const input = (args: Args) => args.input as Record<string, unknown>;
const parentId = (parent: unknown) => (parent as { id: string }).id;

export const isAuthenticated = check("isAuthenticated", (_p, _a, ctx) => {
  requireViewer(ctx);
});

export const isSelf = check("isSelf", (parent, _a, ctx) => {
  if (requireViewer(ctx).id !== parentId(parent)) {
    throw new ForbiddenError("NOT_SELF", "Only the user themself can see this.");
  }
});

/** For fields of an Organization the viewer already reached (so they may see it): members only. */
export const organizationPermission = (permission: Permission) =>
  check(`organization:${permission}`, (parent, _a, ctx) => requireOrganizationPermission(ctx, parentId(parent), permission));

export const isOrganizationMember = check("isOrganizationMember", async (parent, _a, ctx) => {
  requireViewer(ctx);
  if (!(await ctx.loaders.access()).has(parentId(parent))) {
    throw new ForbiddenError("MISSING_PERMISSION", "Only members of the organization can see this.");
  }
});

export const canSeeOrganizationArg = check("canSeeOrganizationArg", async (_p, args, ctx) => {
  requireViewer(ctx);
  const id = decodeIdOf("Organization", args.id as string, "id");
  if ((await organizationVisibility(ctx, id)) === "none") throw new NotFoundError("Organization");
});

export const canReadInvitationArg = check("canReadInvitationArg", async (_p, args, ctx) => {
  await readableInvitation(ctx, args.id as string, "id");
});

async function requireVisibleUser(ctx: Context, userId: string): Promise<void> {
  const viewer = requireViewer(ctx);
  if (userId !== viewer.id && !(await ctx.loaders.sharesOrganization.load(userId))) throw new NotFoundError("User");
}

export const canSeeUserArg = check("canSeeUserArg", async (_p, args, ctx) => {
  requireViewer(ctx);
  await requireVisibleUser(ctx, decodeIdOf("User", args.id as string, "id"));
});

/** node(id) follows the visibility of the type the ID names. */
export const canSeeNodeArg = check("canSeeNodeArg", async (_p, args, ctx) => {
  requireViewer(ctx);
  const globalId = args.id as string;
  const { typename, id } = decodeId(globalId, "id");
  const memberOf = async (organizationId: string | undefined) => !!organizationId && (await ctx.loaders.access()).has(organizationId);
  switch (typename) {
    case "User":
      return requireVisibleUser(ctx, id);
    case "Organization":
      if ((await organizationVisibility(ctx, id)) === "none") throw new NotFoundError("Organization");
      return;
    case "Invitation":
      await readableInvitation(ctx, globalId, "id");
      return;
    case "Membership": {
      // Like organization.members: one's own membership, or those of an organization where one has members:read.
      const row = await prisma.membership.findUnique({ where: { id }, select: { organizationId: true, userId: true } });
      const own = row?.userId === requireViewer(ctx).id;
      if (!row || (!own && !(await permissionsIn(ctx, row.organizationId)).has("members:read"))) throw new NotFoundError("Membership");
      return;
    }
    case "WebhookEndpoint": {
      // Like organization.webhookEndpoints: organization:update; anyone else cannot tell it exists.
      const row = await prisma.webhookEndpoint.findFirst({ where: { id, deletedAt: null }, select: { organizationId: true } });
      if (!row || !(await permissionsIn(ctx, row.organizationId)).has("organization:update")) throw new NotFoundError("WebhookEndpoint");
      return;
    }
    case "Role":
    case "Group": {
      const row =
        typename === "Role"
          ? await ctx.loaders.role.load(id)
          : await prisma.group.findUnique({ where: { id }, select: { organizationId: true } });
      if (!(await memberOf(row?.organizationId))) throw new NotFoundError(typename);
      return;
    }
    default:
      throw new NotFoundError("Node");
  }
});

// ---- Mutations: checked before they run ------------------------------------------------------------------------

// Mutation rules ask for a viewer before they read their input: an anonymous request is UNAUTHENTICATED whatever it sends.

// ---- Subscriptions: checked by the field when subscribing, and by this rule again for every event ------------------

export const canReadOrganizationInvitationsArg = check("canReadOrganizationInvitationsArg", (_p, args, ctx) => {
  requireViewer(ctx);
  return requireOrganizationPermission(ctx, decodeIdOf("Organization", args.organizationId as string, "organizationId"), "invitations:read");
});

/** A mutation on the organization its input names (`input.organizationId`): `permission` there. */
const inputOrganizationPermission = (name: string, permission: Permission) =>
  check(name, (_p, args, ctx) => {
    requireViewer(ctx);
    return requireOrganizationPermission(ctx, decodeIdOf("Organization", input(args).organizationId as string, "organizationId"), permission);
  });

export const canCreateGroup = inputOrganizationPermission("canCreateGroup", "members:manage");

export const canCreateInvitation = check("canCreateInvitation", async (_p, args, ctx) => {
  requireViewer(ctx);
  const { organizationId: orgGlobalId, roleId } = input(args) as { organizationId: string; roleId?: string | null };
  const organizationId = decodeIdOf("Organization", orgGlobalId, "organizationId");
  // Without a roleId the member role is granted: the viewer's memberships and that role in one statement.
  if (roleId == null) await ctx.loaders.accessAndDefaultRole(organizationId);
  await requireOrganizationPermission(ctx, organizationId, "invitations:create");
  const role = await invitationRole(ctx.loaders, organizationId, roleId);
  await requireNoEscalation(ctx, organizationId, role.permissions);
});

/** The whole request: per-address checks (role escalation, groups) give per-address results in the resolver. */
export const canCreateInvitations = inputOrganizationPermission("canCreateInvitations", "invitations:create");

export const canUpdateOrganization = inputOrganizationPermission("canUpdateOrganization", "organization:update");

export const canAnswerInvitation = check("canAnswerInvitation", async (_p, args, ctx) => {
  await answerableInvitation(ctx, input(args) as AnswerInput);
});

export const canRevokeInvitation = check("canRevokeInvitation", async (_p, args, ctx) => {
  await manageableInvitation(ctx, input(args).invitationId as string, "invitations:revoke");
});

export const canResendInvitation = check("canResendInvitation", async (_p, args, ctx) => {
  const invitation = await manageableInvitation(ctx, input(args).invitationId as string, "invitations:create");
  const role = await ctx.loaders.role.load(invitation.roleId);
  await requireNoEscalation(ctx, invitation.organizationId, role?.permissions ?? []);
});

// ---- Members, roles and groups ---------------------------------------------------------------------------------

/**
 * A membership addressed by a member-management mutation: the viewer needs members:manage in its organization
 * (NOT_FOUND when they may not see the organization) and may not act on a member whose role holds a permission they
 * lack (ROLE_ESCALATION: an admin neither demotes nor removes an owner).
 */
async function manageableMembership(ctx: Context, globalId: string) {
  requireViewer(ctx);
  const membership = await ctx.loaders.membership.load(decodeIdOf("Membership", globalId, "membershipId"));
  if (!membership || (await visibility(ctx, membership.organizationId)) === "none") throw new NotFoundError("Membership");
  await requireOrganizationPermission(ctx, membership.organizationId, "members:manage");
  await requireNoHigherRole(ctx, membership.organizationId, membership.role.permissions, "a member");
  return membership;
}

export const canUpdateMembership = check("canUpdateMembership", async (_p, args, ctx) => {
  const { membershipId, roleId } = input(args) as { membershipId: string; roleId?: string | null };
  const membership = await manageableMembership(ctx, membershipId);
  if (roleId != null) {
    // No one grants a role holding a permission they lack.
    const role = await invitationRole(ctx.loaders, membership.organizationId, roleId);
    await requireNoEscalation(ctx, membership.organizationId, role.permissions);
  }
});

export const canRemoveMember = check("canRemoveMember", async (_p, args, ctx) => {
  await manageableMembership(ctx, input(args).membershipId as string);
});

/** Leaving needs only membership: a non-member who may see the organization (an invitee) is FORBIDDEN. */
export const canLeaveOrganization = check("canLeaveOrganization", async (_p, args, ctx) => {
  requireViewer(ctx);
  const organizationId = decodeIdOf("Organization", input(args).organizationId as string, "organizationId");
  if ((await ctx.loaders.access()).has(organizationId)) return;
  if ((await visibility(ctx, organizationId)) === "none") throw new NotFoundError("Organization");
  throw new ForbiddenError("MISSING_PERMISSION", "Only members can leave an organization.");
});

export const canCreateRole = check("canCreateRole", async (_p, args, ctx) => {
  requireViewer(ctx);
  const { organizationId: orgGlobalId, permissions } = input(args) as { organizationId: string; permissions: string[] };
  const organizationId = decodeIdOf("Organization", orgGlobalId, "organizationId");
  await requireOrganizationPermission(ctx, organizationId, "roles:manage");
  await requireNoEscalation(ctx, organizationId, requirePermissionList(permissions));
});

/** A role addressed by updateRole or deleteRole: roles:manage, and not a role holding a permission the viewer lacks. */
async function manageableRole(ctx: Context, globalId: string) {
  requireViewer(ctx);
  const role = await ctx.loaders.role.load(decodeIdOf("Role", globalId, "roleId"));
  if (!role || (await visibility(ctx, role.organizationId)) === "none") throw new NotFoundError("Role");
  await requireOrganizationPermission(ctx, role.organizationId, "roles:manage");
  await requireNoHigherRole(ctx, role.organizationId, role.permissions, "a role");
  return role;
}

export const canUpdateRole = check("canUpdateRole", async (_p, args, ctx) => {
  const { roleId, permissions } = input(args) as { roleId: string; permissions?: string[] | null };
  const role = await manageableRole(ctx, roleId);
  if (permissions != null) await requireNoEscalation(ctx, role.organizationId, requirePermissionList(permissions));
});

export const canDeleteRole = check("canDeleteRole", async (_p, args, ctx) => {
  await manageableRole(ctx, input(args).roleId as string);
});

/** updateGroup and deleteGroup: members:manage in the group's organization. */
export const canManageGroup = check("canManageGroup", async (_p, args, ctx) => {
  requireViewer(ctx);
  const group = await ctx.loaders.group.load(decodeIdOf("Group", input(args).groupId as string, "groupId"));
  if (!group || (await visibility(ctx, group.organizationId)) === "none") throw new NotFoundError("Group");
  await requireOrganizationPermission(ctx, group.organizationId, "members:manage");
});

export const canCreateWebhookEndpoint = inputOrganizationPermission("canCreateWebhookEndpoint", "organization:update");

export const canDeleteWebhookEndpoint = check("canDeleteWebhookEndpoint", async (_p, args, ctx) => {
  requireViewer(ctx);
  const id = decodeIdOf("WebhookEndpoint", input(args).id as string, "id");
  const row = await prisma.webhookEndpoint.findFirst({ where: { id, deletedAt: null }, select: { organizationId: true } });
  if (!row) throw new NotFoundError("WebhookEndpoint");
  // A member without the permission learns the endpoint exists (FORBIDDEN); an outsider does not (NOT_FOUND).
  await requireOrganizationPermission(ctx, row.organizationId, "organization:update");
});

/**
 * The rule tree. Deny is the fallback: a type or field not listed here cannot be read, so a new field is closed
 * until someone decides who may see it.
 */
import { GraphQLError, isObjectType, type GraphQLSchema } from "graphql";
import { applyMiddleware, type IMiddlewareFieldMap } from "graphql-middleware";
import { allow, deny, shield } from "graphql-shield";
import type { IRules } from "graphql-shield";
import {
  canAnswerInvitation,
  canCreateGroup,
  canCreateInvitation,
  canReadInvitationArg,
  canResendInvitation,
  canRevokeInvitation,
  canSeeNodeArg,
  canSeeOrganizationArg,
  canSeeUserArg,
  isAuthenticated,
  isOrganizationMember,
  isSelf,
  organizationPermission,
} from "./rules.js";

const denied = new GraphQLError("You are not allowed to do this.", {
  extensions: { code: "FORBIDDEN", reason: "MISSING_PERMISSION" },
});

const ruleTree = {
    Query: {
      "*": isAuthenticated,
      node: canSeeNodeArg,
      organization: canSeeOrganizationArg,
      invitation: canReadInvitationArg,
      user: canSeeUserArg,
    },
    Mutation: {
      createOrganization: isAuthenticated,
      createGroup: canCreateGroup,
      createInvitation: canCreateInvitation,
      acceptInvitation: canAnswerInvitation,
      declineInvitation: canAnswerInvitation,
      revokeInvitation: canRevokeInvitation,
      resendInvitation: canResendInvitation,
      deleteInvitation: canRevokeInvitation,
    },
    User: {
      "*": allow,
      memberships: isSelf,
      pendingInvitations: isSelf,
    },
    Organization: {
      "*": allow,
      members: organizationPermission("members:read"),
      invitations: organizationPermission("invitations:read"),
      roles: isOrganizationMember,
      groups: isOrganizationMember,
    },
    // Reaching an object of these types already passed a rule above (root fields, payloads of checked mutations,
    // or fields of a readable parent), so their fields are open.
    Invitation: allow,
    Membership: allow,
    Role: allow,
    Group: allow,
    PageInfo: allow,
    InvitationConnection: allow,
    InvitationEdge: allow,
    MembershipConnection: allow,
    MembershipEdge: allow,
    CreateOrganizationPayload: allow,
    CreateGroupPayload: allow,
    CreateInvitationPayload: allow,
    AcceptInvitationPayload: allow,
    DeclineInvitationPayload: allow,
    RevokeInvitationPayload: allow,
    ResendInvitationPayload: allow,
    DeleteInvitationPayload: allow,
} satisfies IRules;

const permissions = shield(ruleTree, {
  fallbackRule: deny,
  fallbackError: denied,
  allowExternalErrors: true,
  debug: false,
});

/** The shield middleware alone, for bench/shield.ts' comparison with protectSchema. */
export const permissionsForBench = permissions;

/** Whether the rule tree lets every viewer read `type.field` (rule `allow`, directly or through the type's "*"). */
function isOpen(type: string, field: string): boolean {
  const rules = (ruleTree as Record<string, unknown>)[type];
  if (rules === allow) return true;
  if (!rules || typeof rules !== "object") return false;
  const own = (rules as Record<string, unknown>)[field];
  return own === undefined ? (rules as Record<string, unknown>)["*"] === allow : own === allow;
}

/**
 * Applies the rule tree and `more` middleware (outermost first), then gives open fields (rule `allow`, no other
 * middleware) their original resolvers back. shield wraps every field in an async function, even for `allow`;
 * on a page of 100 invitations that made each scalar a promise, for no check at all.
 */
export function protectSchema(base: GraphQLSchema, ...more: IMiddlewareFieldMap[]): GraphQLSchema {
  const protectedSchema = applyMiddleware(base, permissions, ...more);
  const wrappedElsewhere = (type: string, field: string) => more.some((m) => (m[type] as Record<string, unknown> | undefined)?.[field]);
  for (const type of Object.values(protectedSchema.getTypeMap())) {
    if (!isObjectType(type) || type.name.startsWith("__")) continue;
    const original = base.getType(type.name);
    if (!isObjectType(original)) continue;
    for (const [name, field] of Object.entries(type.getFields())) {
      if (!isOpen(type.name, name) || wrappedElsewhere(type.name, name)) continue;
      field.resolve = original.getFields()[name]?.resolve;
    }
  }
  return protectedSchema;
}

/**
 * The rule tree. Deny is the fallback: a field that has neither a rule (RULES) nor a reason to be open (OPEN, or a
 * payload or connection type derived from the schema) cannot be read, so a new field is closed until someone decides
 * who may see it. test/permissions-tree.test.ts walks the schema and fails on any such field and on stale entries.
 */
import {
  getNamedType,
  GraphQLError,
  isInterfaceType,
  isObjectType,
  type GraphQLNamedType,
  type GraphQLOutputType,
  type GraphQLSchema,
} from "graphql";
import type { IMiddlewareFieldMap } from "graphql-middleware";
import { allow, and, applyMiddleware, deny, shield } from "./shield.js";
import type { IRules } from "./shield.js";

/** A rule or a logic rule (allow, deny, and, chain…); graphql-shield does not export the union by name. */
type ShieldRule = Parameters<typeof and>[number];
import {
  canAnswerInvitation,
  canCreateGroup,
  canCreateInvitation,
  canCreateRole,
  canDeleteRole,
  canLeaveOrganization,
  canManageGroup,
  canRemoveMember,
  canUpdateMembership,
  canUpdateRole,
  canCreateInvitations,
  canCreateWebhookEndpoint,
  canDeleteWebhookEndpoint,
  canReadInvitationArg,
  canReadOrganizationInvitationsArg,
  canResendInvitation,
  canRevokeInvitation,
  canSeeNodeArg,
  canSeeOrganizationArg,
  canSeeUserArg,
  canUpdateOrganization,
  isAuthenticated,
  isOrganizationMember,
  isSelf,
  organizationPermission,
} from "./rules.js";

const denied = new GraphQLError("You are not allowed to do this.", {
  extensions: { code: "FORBIDDEN", reason: "MISSING_PERMISSION" },
});

/**
 * Fields decided by a rule. Every root field is listed by name (no "*"), so a new query or mutation is denied until
 * it gets one here, and the rule-tree test names it.
 */
const RULES = {
  Query: {
    viewer: isAuthenticated,
    pendingInvitations: isAuthenticated,
    node: canSeeNodeArg,
    organization: canSeeOrganizationArg,
    invitation: canReadInvitationArg,
    user: canSeeUserArg,
  },
  Mutation: {
    createOrganization: isAuthenticated,
    createGroup: canCreateGroup,
    createInvitation: canCreateInvitation,
    createInvitations: canCreateInvitations,
    updateOrganization: canUpdateOrganization,
    acceptInvitation: canAnswerInvitation,
    declineInvitation: canAnswerInvitation,
    revokeInvitation: canRevokeInvitation,
    resendInvitation: canResendInvitation,
    deleteInvitation: canRevokeInvitation,
    updateMembership: canUpdateMembership,
    removeMember: canRemoveMember,
    leaveOrganization: canLeaveOrganization,
    createRole: canCreateRole,
    updateRole: canUpdateRole,
    deleteRole: canDeleteRole,
    updateGroup: canManageGroup,
    deleteGroup: canManageGroup,
    createWebhookEndpoint: canCreateWebhookEndpoint,
    deleteWebhookEndpoint: canDeleteWebhookEndpoint,
  },
  // graphql-shield wraps a subscription field's resolver, so these run for every event; the fields check the same
  // when subscribing (src/schema/subscription.ts).
  Subscription: {
    invitationEvents: canReadOrganizationInvitationsArg,
    viewerInvitationEvents: isAuthenticated,
  },
  User: {
    memberships: isSelf,
    pendingInvitations: isSelf,
    managedInvitations: isSelf,
  },
  Organization: {
    members: organizationPermission("members:read"),
    invitations: organizationPermission("invitations:read"),
    webhookEndpoints: organizationPermission("organization:update"),
    roles: isOrganizationMember,
    groups: isOrganizationMember,
    seatLimit: isOrganizationMember,
    allowedEmailDomains: isOrganizationMember,
  },
} satisfies Record<string, Record<string, ShieldRule>>;

/** The same reason for several fields of one type. */
function openFields(type: string, fields: readonly string[], reason: string): Record<string, string> {
  return Object.fromEntries(fields.map((field) => [`${type}.${field}`, reason]));
}

/**
 * Fields open to whoever reached their object (rule `allow`), each with why that is safe. Listed one by one: a new
 * field of these types is denied until it is added here or given a rule. A root field listed here is public
 * (answered for anonymous requests too): only invitationPreview.
 */
export const OPEN: Readonly<Record<string, string>> = {
  ...openFields(
    "User",
    ["id", "name", "avatarUrl"],
    "A user is reached through a rule on visibility (user(id), node, viewer) or through an object the viewer may read; these are the public profile.",
  ),
  "User.email": "Hides itself: its resolver returns null unless the viewer is the user or a fellow member (canSeeEmail).",
  ...openFields(
    "Organization",
    ["id", "name", "slug", "logoUrl", "memberCount", "createdAt", "viewerMembership"],
    "An organization is reached by members and invitees only (organization(id), node, memberships, readable invitations); this is the preview both may see, viewerMembership being the viewer's own.",
  ),
  ...openFields(
    "Invitation",
    [
      "id", "email", "status", "organization", "role", "groups", "invitedBy", "invitee", "metadata",
      "createdAt", "updatedAt", "expiresAt", "acceptedAt", "declinedAt", "revokedAt", "delivery", "events", "version",
    ],
    "An invitation is reached only where it may be read: invitation(id) and node (readableInvitation), lists guarded at the list field, payloads of checked mutations.",
  ),
  ...openFields(
    "Membership",
    ["id", "user", "organization", "role", "groups", "createdAt"],
    "A membership is reached through members (members:read), the viewer's own memberships, node (same rule) or a checked acceptInvitation.",
  ),
  ...openFields("Role", ["id", "key", "name", "permissions"], "A role is reached through members-only fields, readable invitations or memberships."),
  ...openFields("Group", ["id", "name"], "A group is reached through members-only fields, readable invitations or memberships."),
  ...openFields(
    "InvitationDelivery",
    ["status", "attempts", "lastError", "sentAt"],
    "Reached only through Invitation.delivery, of an invitation the viewer may read.",
  ),
  ...openFields(
    "InvitationEvent",
    ["type", "occurredAt", "actor", "invitation"],
    "Reached only through Invitation.events, of an invitation the viewer may read, and through the subscriptions, whose rules run for every event; actor is a User, whose own fields decide what shows.",
  ),
  "Query.invitationPreview":
    "Public by design: the invitation page before sign-in. It shows only the preview (no ids, the address masked), and a miss spends the client address's brute-force budget, so it cannot test guessed tokens.",
  ...openFields(
    "InvitationPreview",
    ["maskedEmail", "status", "expiresAt", "organization", "invitedBy"],
    "Reached only through invitationPreview, by the holder of the invitation's current token; built to show nothing more.",
  ),
  ...openFields("InvitationPreviewOrganization", ["name", "logoUrl", "memberCount"], "Reached only through InvitationPreview.organization: the organization's public face."),
  ...openFields("InvitationPreviewInviter", ["name", "avatarUrl"], "Reached only through InvitationPreview.invitedBy: the inviter's public profile."),
  ...openFields(
    "CreateInvitationsResult",
    ["email", "invitation", "token", "error"],
    "Reached only through the payload of createInvitations, whose rule runs before it: the caller's own new invitations.",
  ),
  ...openFields(
    "CreateInvitationsError",
    ["code", "reason", "field", "message"],
    "Reached only through a createInvitations result: why the caller's own input was refused.",
  ),
  ...openFields(
    "WebhookEndpoint",
    ["id", "url", "events", "createdAt", "createdBy", "deliveries"],
    "An endpoint is reached only through organization.webhookEndpoints and node (both need organization:update) or a checked createWebhookEndpoint; its secret is no field at all.",
  ),
  ...openFields(
    "WebhookDelivery",
    [
      "webhookId", "eventType", "invitationId", "status", "attempts", "responseStatusCode", "lastError",
      "createdAt", "lastAttemptAt", "nextAttemptAt", "deliveredAt",
    ],
    "Reached only through WebhookEndpoint.deliveries, of an endpoint the viewer may manage.",
  ),
  ...openFields("PageInfo", ["hasNextPage", "hasPreviousPage", "startCursor", "endCursor"], "Cursors and page flags of a list whose field was checked."),
};

/** Object types open as a whole because the schema itself shows that whatever returns them was checked. */
export interface DerivedOpen {
  type: string;
  reason: string;
}

const unwrap = (type: GraphQLOutputType): GraphQLNamedType => getNamedType(type);

/** Every field of the schema that returns `typeName`, as "Type.field". */
function fieldsReturning(schema: GraphQLSchema, typeName: string): string[] {
  const found: string[] = [];
  for (const type of Object.values(schema.getTypeMap())) {
    if (!isObjectType(type) && !isInterfaceType(type)) continue;
    for (const field of Object.values(type.getFields())) {
      if (unwrap(field.type).name === typeName) found.push(`${type.name}.${field.name}`);
    }
  }
  return found;
}

/**
 * Types the rule tree opens by their place in the schema, so a new mutation or list needs no hand-kept entry:
 * - a mutation's payload, when that mutation has a rule (it runs before the mutation) and nothing else returns it;
 * - a Relay connection and its edge type (`edges`, `pageInfo`; `node`, `cursor`): what they hold has its own type's
 *   rules, and who may list is decided at the field that returns the connection.
 */
export function derivedOpenTypes(schema: GraphQLSchema): DerivedOpen[] {
  const derived: DerivedOpen[] = [];
  const mutationRules: Record<string, unknown> = RULES.Mutation;
  for (const field of Object.values(schema.getMutationType()?.getFields() ?? {})) {
    const payload = unwrap(field.type);
    if (!isObjectType(payload) || !mutationRules[field.name]) continue;
    const returnedBy = fieldsReturning(schema, payload.name);
    if (returnedBy.every((f) => f.startsWith("Mutation.") && mutationRules[f.slice("Mutation.".length)])) {
      derived.push({ type: payload.name, reason: `payload of ${returnedBy.join(", ")}, whose rule runs before the mutation` });
    }
  }
  for (const type of Object.values(schema.getTypeMap())) {
    if (!isObjectType(type) || !type.name.endsWith("Connection")) continue;
    const { edges, pageInfo } = type.getFields();
    if (!edges || unwrap(pageInfo?.type ?? edges.type).name !== "PageInfo") continue;
    const edge = unwrap(edges.type);
    if (!isObjectType(edge) || !edge.getFields().node || !edge.getFields().cursor) continue;
    const reason = `list returned by ${fieldsReturning(schema, type.name).join(", ")}, each decided at that field`;
    derived.push({ type: type.name, reason }, { type: edge.name, reason });
  }
  return derived;
}

/** The shield rule tree for `schema`: RULES, then OPEN fields and derived types as `allow`. */
export function ruleTreeFor(schema: GraphQLSchema): Record<string, ShieldRule | Record<string, ShieldRule>> {
  const tree: Record<string, ShieldRule | Record<string, ShieldRule>> = {};
  for (const [type, fields] of Object.entries(RULES)) tree[type] = { ...fields };
  for (const key of Object.keys(OPEN)) {
    const [type, field] = key.split(".") as [string, string];
    const fields = (tree[type] ??= {}) as Record<string, ShieldRule>;
    if (fields[field]) throw new Error(`${key} has a rule and is listed as open: choose one`);
    fields[field] = allow;
  }
  for (const { type } of derivedOpenTypes(schema)) tree[type] = allow;
  return tree;
}

/** The shield middleware for `schema` (also used alone by bench/shield.ts, to compare with protectSchema). */
export function permissionsFor(schema: GraphQLSchema) {
  return shield(ruleTreeFor(schema) as IRules, {
    fallbackRule: deny,
    fallbackError: denied,
    allowExternalErrors: true,
    debug: false,
  });
}

/** Whether the rule tree lets every viewer read `type.field` (rule `allow`, for the field or its whole type). */
function isOpen(tree: ReturnType<typeof ruleTreeFor>, type: string, field: string): boolean {
  const rules = tree[type];
  if (rules === allow) return true;
  return !!rules && typeof rules === "object" && (rules as Record<string, ShieldRule>)[field] === allow;
}

/**
 * Applies the rule tree and `more` middleware (outermost first), then gives open fields (rule `allow`, no other
 * middleware) their original resolvers back. shield wraps every field in an async function, even for `allow`;
 * on a page of 100 invitations that made each scalar a promise, for no check at all.
 */
export function protectSchema(base: GraphQLSchema, ...more: IMiddlewareFieldMap[]): GraphQLSchema {
  const tree = ruleTreeFor(base);
  const protectedSchema = applyMiddleware(base, permissionsFor(base), ...more);
  const wrappedElsewhere = (type: string, field: string) => more.some((m) => (m[type] as Record<string, unknown> | undefined)?.[field]);
  for (const type of Object.values(protectedSchema.getTypeMap())) {
    if (!isObjectType(type) || type.name.startsWith("__")) continue;
    const original = base.getType(type.name);
    if (!isObjectType(original)) continue;
    for (const [name, field] of Object.entries(type.getFields())) {
      if (!isOpen(tree, type.name, name) || wrappedElsewhere(type.name, name)) continue;
      field.resolve = original.getFields()[name]?.resolve;
    }
  }
  return protectedSchema;
}

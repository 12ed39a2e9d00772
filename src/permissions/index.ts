/**
 * The rule tree. Deny is the fallback: a type or field not listed here cannot be read, so a new field is closed
 * until someone decides who may see it.
 */
import { GraphQLError } from "graphql";
import { allow, deny, shield } from "graphql-shield";
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

export const permissions = shield(
  {
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
  },
  {
    fallbackRule: deny,
    fallbackError: denied,
    allowExternalErrors: true,
    debug: false,
  },
);

/**
 * The example's flow, as an owner would run it: create an organization, invite someone as an admin, list the
 * organization's pending invitations. Every call is typed from schema.graphql.
 */
import { createClient, type ClientOptions } from "./client.js";
import { CreateInvitation, CreateOrganization, OrganizationInvitations } from "./documents.js";

export interface FlowResult {
  organization: { id: string; name: string; slug: string };
  invitation: { id: string; email: string; status: string; role: string };
  pending: { totalCount: number; emails: string[] };
}

export async function runFlow(options: ClientOptions & { organizationName: string; inviteeEmail: string }): Promise<FlowResult> {
  const execute = createClient(options);

  const { createOrganization } = await execute(CreateOrganization, { input: { name: options.organizationName } });
  const organization = createOrganization.organization;
  const admin = organization.roles.find((role) => role.key === "admin");
  if (!admin) throw new Error("The new organization has no admin role.");

  const { createInvitation } = await execute(CreateInvitation, {
    input: { organizationId: organization.id, email: options.inviteeEmail, roleId: admin.id },
  });

  const listed = await execute(OrganizationInvitations, { id: organization.id, first: 20, status: ["PENDING"] });
  const invitations = listed.organization?.invitations;
  return {
    organization: { id: organization.id, name: organization.name, slug: organization.slug },
    invitation: {
      id: createInvitation.invitation.id,
      email: createInvitation.invitation.email,
      status: createInvitation.invitation.status,
      role: createInvitation.invitation.role.key,
    },
    pending: { totalCount: invitations?.totalCount ?? 0, emails: invitations?.edges.map((edge) => edge.node.email) ?? [] },
  };
}

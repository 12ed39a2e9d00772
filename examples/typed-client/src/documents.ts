/**
 * The operations this example sends. Code Generator reads the graphql(`…`) calls here and types them; the same
 * texts are the trusted documents in src/gql/persisted-documents.json.
 */
import { graphql } from "./gql/index.js";

export const CreateOrganization = graphql(`
  mutation CreateOrganization($input: CreateOrganizationInput!) {
    createOrganization(input: $input) {
      organization {
        id
        name
        slug
        roles {
          id
          key
        }
      }
    }
  }
`);

export const CreateInvitation = graphql(`
  mutation CreateInvitation($input: CreateInvitationInput!) {
    createInvitation(input: $input) {
      invitation {
        id
        email
        status
        expiresAt
        role {
          key
        }
      }
      token
    }
  }
`);

export const OrganizationInvitations = graphql(`
  query OrganizationInvitations($id: ID!, $first: Int, $status: [InvitationStatus!]) {
    organization(id: $id) {
      id
      name
      memberCount
      invitations(first: $first, status: $status) {
        totalCount
        edges {
          node {
            id
            email
            status
            expiresAt
            role {
              key
            }
          }
        }
      }
    }
  }
`);

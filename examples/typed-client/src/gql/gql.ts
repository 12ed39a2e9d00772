/* eslint-disable */
import * as types from './graphql.js';



/**
 * Map of all GraphQL operations in the project.
 *
 * This map has several performance disadvantages:
 * 1. It is not tree-shakeable, so it will include all operations in the project.
 * 2. It is not minifiable, so the string of a GraphQL query will be multiple times inside the bundle.
 * 3. It does not support dead code elimination, so it will add unused operations.
 *
 * Therefore it is highly recommended to use the babel or swc plugin for production.
 * Learn more about it here: https://the-guild.dev/graphql/codegen/plugins/presets/preset-client#reducing-bundle-size
 */
type Documents = {
    "\n  mutation CreateOrganization($input: CreateOrganizationInput!) {\n    createOrganization(input: $input) {\n      organization {\n        id\n        name\n        slug\n        roles {\n          id\n          key\n        }\n      }\n    }\n  }\n": typeof types.CreateOrganizationDocument,
    "\n  mutation CreateInvitation($input: CreateInvitationInput!) {\n    createInvitation(input: $input) {\n      invitation {\n        id\n        email\n        status\n        expiresAt\n        role {\n          key\n        }\n      }\n      token\n    }\n  }\n": typeof types.CreateInvitationDocument,
    "\n  query OrganizationInvitations($id: ID!, $first: Int, $status: [InvitationStatus!]) {\n    organization(id: $id) {\n      id\n      name\n      memberCount\n      invitations(first: $first, status: $status) {\n        totalCount\n        edges {\n          node {\n            id\n            email\n            status\n            expiresAt\n            role {\n              key\n            }\n          }\n        }\n      }\n    }\n  }\n": typeof types.OrganizationInvitationsDocument,
};
const documents: Documents = {
    "\n  mutation CreateOrganization($input: CreateOrganizationInput!) {\n    createOrganization(input: $input) {\n      organization {\n        id\n        name\n        slug\n        roles {\n          id\n          key\n        }\n      }\n    }\n  }\n": types.CreateOrganizationDocument,
    "\n  mutation CreateInvitation($input: CreateInvitationInput!) {\n    createInvitation(input: $input) {\n      invitation {\n        id\n        email\n        status\n        expiresAt\n        role {\n          key\n        }\n      }\n      token\n    }\n  }\n": types.CreateInvitationDocument,
    "\n  query OrganizationInvitations($id: ID!, $first: Int, $status: [InvitationStatus!]) {\n    organization(id: $id) {\n      id\n      name\n      memberCount\n      invitations(first: $first, status: $status) {\n        totalCount\n        edges {\n          node {\n            id\n            email\n            status\n            expiresAt\n            role {\n              key\n            }\n          }\n        }\n      }\n    }\n  }\n": types.OrganizationInvitationsDocument,
};

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation CreateOrganization($input: CreateOrganizationInput!) {\n    createOrganization(input: $input) {\n      organization {\n        id\n        name\n        slug\n        roles {\n          id\n          key\n        }\n      }\n    }\n  }\n"): typeof import('./graphql.js').CreateOrganizationDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation CreateInvitation($input: CreateInvitationInput!) {\n    createInvitation(input: $input) {\n      invitation {\n        id\n        email\n        status\n        expiresAt\n        role {\n          key\n        }\n      }\n      token\n    }\n  }\n"): typeof import('./graphql.js').CreateInvitationDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query OrganizationInvitations($id: ID!, $first: Int, $status: [InvitationStatus!]) {\n    organization(id: $id) {\n      id\n      name\n      memberCount\n      invitations(first: $first, status: $status) {\n        totalCount\n        edges {\n          node {\n            id\n            email\n            status\n            expiresAt\n            role {\n              key\n            }\n          }\n        }\n      }\n    }\n  }\n"): typeof import('./graphql.js').OrganizationInvitationsDocument;


export function graphql(source: string) {
  return (documents as any)[source] ?? {};
}

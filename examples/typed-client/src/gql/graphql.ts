/* eslint-disable */
/** Internal type. DO NOT USE DIRECTLY. */
type Exact<T extends { [key: string]: unknown }> = { [K in keyof T]: T[K] };
/** Internal type. DO NOT USE DIRECTLY. */
export type Incremental<T> = T | { [P in keyof T]?: P extends ' $fragmentName' | '__typename' ? T[P] : never };
import type { DocumentTypeDecoration } from '@graphql-typed-document-node/core';
export type CreateInvitationInput = {
  /** Trimmed and lower-cased; at most 254 characters. */
  email: string;
  /** In the future, at most 30 days ahead; default INVITATION_TTL_HOURS. */
  expiresAt?: string | null | undefined;
  /** Groups of the organization the invitee joins on accepting. */
  groupIds?: Array<string | number> | null | undefined;
  /** A JSON object of at most 4 KB, returned with the invitation. */
  metadata?: Record<string, unknown> | null | undefined;
  organizationId: string | number;
  /** A role of the organization; defaults to its member role. */
  roleId?: string | number | null | undefined;
};

export type CreateOrganizationInput = {
  /** An http(s) URL. */
  logoUrl?: string | null | undefined;
  /** At most 100 characters. */
  name: string;
  /** Lower-case letters, digits and inner hyphens; derived from the name when absent. */
  slug?: string | null | undefined;
};

export type InvitationStatus =
  | 'ACCEPTED'
  | 'DECLINED'
  | 'EXPIRED'
  | 'PENDING'
  | 'REVOKED';

export type CreateOrganizationMutationVariables = Exact<{
  input: CreateOrganizationInput;
}>;


export type CreateOrganizationMutation = { createOrganization: { organization: { id: string, name: string, slug: string, roles: Array<{ id: string, key: string }> } } };

export type CreateInvitationMutationVariables = Exact<{
  input: CreateInvitationInput;
}>;


export type CreateInvitationMutation = { createInvitation: { token: string, invitation: { id: string, email: string, status: InvitationStatus, expiresAt: string, role: { key: string } } } };

export type OrganizationInvitationsQueryVariables = Exact<{
  id: string | number;
  first?: number | null | undefined;
  status?: Array<InvitationStatus> | InvitationStatus | null | undefined;
}>;


export type OrganizationInvitationsQuery = { organization: { id: string, name: string, memberCount: number, invitations: { totalCount: number, edges: Array<{ node: { id: string, email: string, status: InvitationStatus, expiresAt: string, role: { key: string } } }> } } | null };

export class TypedDocumentString<TResult, TVariables>
  extends String
  implements DocumentTypeDecoration<TResult, TVariables>
{
  __apiType?: NonNullable<DocumentTypeDecoration<TResult, TVariables>['__apiType']>;
  private value: string;
  public __meta__?: Record<string, any> | undefined;

  constructor(value: string, __meta__?: Record<string, any> | undefined) {
    super(value);
    this.value = value;
    this.__meta__ = __meta__;
  }

  override toString(): string & DocumentTypeDecoration<TResult, TVariables> {
    return this.value;
  }
}

export const CreateOrganizationDocument = new TypedDocumentString(`
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
    `, {"hash":"sha256:773acf73a84b466b236f8c4e3920f1896aa39c1a04a505f95d3b8df67ae31855"}) as unknown as TypedDocumentString<CreateOrganizationMutation, CreateOrganizationMutationVariables>;
export const CreateInvitationDocument = new TypedDocumentString(`
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
    `, {"hash":"sha256:78eb9a8c8a98ffbf4060e4cc2ff5c185fdbeae3f327b2e12e9ac97ef2241d32e"}) as unknown as TypedDocumentString<CreateInvitationMutation, CreateInvitationMutationVariables>;
export const OrganizationInvitationsDocument = new TypedDocumentString(`
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
    `, {"hash":"sha256:bef750f2ea5d59dadb928a87ca33153d0d69d09ecbb65490bd1c4b489301030d"}) as unknown as TypedDocumentString<OrganizationInvitationsQuery, OrganizationInvitationsQueryVariables>;
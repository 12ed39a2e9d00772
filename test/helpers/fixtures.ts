/**
 * Shared fixtures: organizations, invitations and members made through the public API (so fixtures exercise the
 * same paths as clients), plus the few raw-database nudges tests need (expiring an invitation, reading stored rows).
 */
import { expect } from "vitest";
import { errorOf, type GraphQLResponse, type TestApp, type TestUser } from "./app.js";

export type RoleKey = "owner" | "admin" | "member";

export interface TestOrg {
  id: string;
  name: string;
  slug: string;
  roles: Record<RoleKey, string>;
}

export interface TestInvitation {
  id: string;
  token: string;
  email: string;
}

/** The database id inside a Relay global ID (base64url of "Type:uuid"); tests need it for raw Prisma setup. */
/** The user's global ID (their row is created by this first request if need be). */
export async function viewerId(app: TestApp, user: TestUser): Promise<string> {
  return (await app.ok(`{ viewer { id } }`, {}, user.token)).viewer.id;
}

export function rawId(globalId: string): string {
  const decoded = Buffer.from(globalId, "base64url").toString("utf8");
  return decoded.slice(decoded.indexOf(":") + 1);
}

/** A global ID for a type and database id, the way the server encodes them. */
export function globalId(typename: string, id: string): string {
  return Buffer.from(`${typename}:${id}`, "utf8").toString("base64url");
}

let counter = 0;
/** A name no other test uses, so derived slugs do not collide across concurrently running files. */
export function uniqueName(prefix = "Org"): string {
  counter += 1;
  return `${prefix} ${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}${counter}`;
}

export const CREATE_ORGANIZATION = /* GraphQL */ `
  mutation CreateOrganization($input: CreateOrganizationInput!) {
    createOrganization(input: $input) {
      organization { id name slug logoUrl memberCount roles { id key name permissions } }
    }
  }
`;

export async function createOrg(app: TestApp, owner: TestUser, input: { name?: string; slug?: string; logoUrl?: string } = {}): Promise<TestOrg> {
  const data = await app.ok(CREATE_ORGANIZATION, { input: { name: input.name ?? uniqueName(), ...input } }, owner.token);
  const org = data.createOrganization.organization;
  const roles = Object.fromEntries(org.roles.map((r: { key: string; id: string }) => [r.key, r.id])) as Record<RoleKey, string>;
  return { id: org.id, name: org.name, slug: org.slug, roles };
}

export async function createGroup(app: TestApp, actor: TestUser, organizationId: string, name = uniqueName("Group")): Promise<string> {
  const data = await app.ok(
    /* GraphQL */ `mutation ($input: CreateGroupInput!) { createGroup(input: $input) { group { id name } } }`,
    { input: { organizationId, name } },
    actor.token,
  );
  return data.createGroup.group.id;
}

export const CREATE_INVITATION = /* GraphQL */ `
  mutation CreateInvitation($input: CreateInvitationInput!) {
    createInvitation(input: $input) {
      token
      invitation {
        id email status expiresAt createdAt metadata
        role { id key }
        groups { id name }
        organization { id }
        invitedBy { id }
      }
    }
  }
`;

export interface InviteOptions {
  roleId?: string;
  groupIds?: string[];
  metadata?: unknown;
  expiresAt?: string;
}

/** The raw response of createInvitation, for tests that expect it to fail. */
export function tryInvite(app: TestApp, actor: TestUser, organizationId: string, email: string, options: InviteOptions = {}): Promise<GraphQLResponse> {
  return app.gql(CREATE_INVITATION, { input: { organizationId, email, ...options } }, actor.token);
}

export async function invite(app: TestApp, actor: TestUser, organizationId: string, email: string, options: InviteOptions = {}): Promise<TestInvitation> {
  const data = await app.ok(CREATE_INVITATION, { input: { organizationId, email, ...options } }, actor.token);
  const { invitation, token } = data.createInvitation;
  return { id: invitation.id, token, email: invitation.email };
}

export const ACCEPT_INVITATION = /* GraphQL */ `
  mutation AcceptInvitation($input: AcceptInvitationInput!) {
    acceptInvitation(input: $input) {
      invitation { id status acceptedAt invitee { id } }
      membership { id role { key } groups { id name } organization { id } user { id } }
    }
  }
`;

export const DECLINE_INVITATION = /* GraphQL */ `
  mutation DeclineInvitation($input: DeclineInvitationInput!) {
    declineInvitation(input: $input) { invitation { id status declinedAt } }
  }
`;

export const REVOKE_INVITATION = /* GraphQL */ `
  mutation RevokeInvitation($input: RevokeInvitationInput!) {
    revokeInvitation(input: $input) { invitation { id status revokedAt } }
  }
`;

export const RESEND_INVITATION = /* GraphQL */ `
  mutation ResendInvitation($input: ResendInvitationInput!) {
    resendInvitation(input: $input) { token invitation { id status expiresAt } }
  }
`;

export const DELETE_INVITATION = /* GraphQL */ `
  mutation DeleteInvitation($input: DeleteInvitationInput!) {
    deleteInvitation(input: $input) { deletedInvitationId }
  }
`;

export function accept(app: TestApp, user: TestUser, input: { invitationId?: string; token?: string }): Promise<GraphQLResponse> {
  return app.gql(ACCEPT_INVITATION, { input }, user.token);
}

export function decline(app: TestApp, user: TestUser, input: { invitationId?: string; token?: string }): Promise<GraphQLResponse> {
  return app.gql(DECLINE_INVITATION, { input }, user.token);
}

export function revoke(app: TestApp, actor: TestUser, invitationId: string): Promise<GraphQLResponse> {
  return app.gql(REVOKE_INVITATION, { input: { invitationId } }, actor.token);
}

export function resend(app: TestApp, actor: TestUser, invitationId: string): Promise<GraphQLResponse> {
  return app.gql(RESEND_INVITATION, { input: { invitationId } }, actor.token);
}

export function remove(app: TestApp, actor: TestUser, invitationId: string): Promise<GraphQLResponse> {
  return app.gql(DELETE_INVITATION, { input: { invitationId } }, actor.token);
}

/** A fresh user who joined `org` with `role` through an accepted invitation. */
export async function addMember(
  app: TestApp,
  org: TestOrg,
  inviter: TestUser,
  role: RoleKey = "member",
  options: { name?: string; groupIds?: string[] } = {},
): Promise<TestUser> {
  const user = await app.user({ name: options.name ?? `${role} user` });
  const invitation = await invite(app, inviter, org.id, user.email, { roleId: org.roles[role], groupIds: options.groupIds });
  const result = await accept(app, user, { invitationId: invitation.id });
  expect(result.errors).toBeUndefined();
  return user;
}

/** Moves an invitation's expiry into the past, as if its time ran out (the status stays PENDING in storage). */
export async function expire(app: TestApp, invitationId: string): Promise<void> {
  await app.db.prisma.invitation.update({ where: { id: rawId(invitationId) }, data: { expiresAt: new Date(Date.now() - 60_000) } });
}

/** The stored invitation row, for checks the API cannot make (token hash, soft delete). */
export function storedInvitation(app: TestApp, invitationId: string) {
  return app.db.prisma.invitation.findUniqueOrThrow({ where: { id: rawId(invitationId) }, include: { groups: true } });
}

/** Asserts a failed response: no data for the failing root field, and the given code, reason and field. */
export function expectError(result: GraphQLResponse, expected: { code: string; reason?: string; field?: string }): void {
  expect(result.errors, JSON.stringify(result)).toBeDefined();
  expect(errorOf(result)).toMatchObject(expected);
  if (expected.reason === undefined) expect(errorOf(result).reason).toBeUndefined();
}

export const INVITATION_STATUS = /* GraphQL */ `query ($id: ID!) { invitation(id: $id) { id status expiresAt } }`;

export async function statusOf(app: TestApp, reader: TestUser, invitationId: string): Promise<string> {
  const data = await app.ok(INVITATION_STATUS, { id: invitationId }, reader.token);
  return data.invitation.status;
}

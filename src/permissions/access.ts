/**
 * Who may see and do what, answered from the per-request facts in ctx.loaders (the viewer's memberships are loaded
 * once per request). Used by the graphql-shield rules, and by the few resolvers that must hide a value rather than
 * fail (User.email).
 */
import { decodeIdOf } from "../builder.js";
import type { Context } from "../context.js";
import { BadUserInputError, ForbiddenError, NotFoundError, UnauthenticatedError } from "../errors.js";
import type { Invitation } from "../generated/prisma/client.js";
import { hashToken, sameHash } from "../invitations/token.js";
import type { UserViewer } from "../auth/viewer.js";
import type { Permission } from "./catalog.js";
import { UNLIMITED } from "../ratelimit.js";

export function requireViewer(ctx: Context): UserViewer {
  if (ctx.viewer.kind !== "user") throw new UnauthenticatedError();
  return ctx.viewer;
}

export type OrganizationVisibility = "member" | "invitee" | "none";

/** Members see an organization; so do people it has invited and who have not answered yet. */
export async function organizationVisibility(ctx: Context, organizationId: string): Promise<OrganizationVisibility> {
  if (ctx.viewer.kind !== "user") return "none";
  if ((await ctx.loaders.access()).has(organizationId)) return "member";
  if ((await ctx.loaders.invitedOrganizationIds()).has(organizationId)) return "invitee";
  return "none";
}

export async function permissionsIn(ctx: Context, organizationId: string): Promise<ReadonlySet<string>> {
  return (await ctx.loaders.access()).get(organizationId)?.permissions ?? new Set();
}

/** NOT_FOUND for those who may not see the organization, FORBIDDEN/MISSING_PERMISSION for those who may. */
export async function requireOrganizationPermission(ctx: Context, organizationId: string, permission: Permission): Promise<void> {
  requireViewer(ctx);
  if ((await permissionsIn(ctx, organizationId)).has(permission)) return;
  if ((await organizationVisibility(ctx, organizationId)) === "none") throw new NotFoundError("Organization");
  throw new ForbiddenError("MISSING_PERMISSION", `This needs the ${permission} permission in the organization.`);
}

/** ROLE_ESCALATION, with `message(missing)`, unless the viewer holds every one of `permissions` in the organization. */
async function requireHeld(ctx: Context, organizationId: string, permissions: readonly string[], message: (missing: string) => string): Promise<void> {
  const own = await permissionsIn(ctx, organizationId);
  const missing = permissions.filter((p) => !own.has(p));
  if (missing.length > 0) throw new ForbiddenError("ROLE_ESCALATION", message(missing.join(", ")));
}

/** No one may grant a role holding a permission they lack themselves. */
export function requireNoEscalation(ctx: Context, organizationId: string, rolePermissions: readonly string[]): Promise<void> {
  return requireHeld(ctx, organizationId, rolePermissions, (missing) => `You cannot grant a role with permissions you lack: ${missing}.`);
}

/**
 * No one changes or removes a member, or edits a role, holding a permission they lack themselves (as on GitHub and
 * Clerk: an admin cannot demote or remove an owner). `what` says what is being acted on, for the message.
 */
export function requireNoHigherRole(ctx: Context, organizationId: string, targetPermissions: readonly string[], what: string): Promise<void> {
  return requireHeld(ctx, organizationId, targetPermissions, (missing) => `You cannot change ${what} whose role has permissions you lack: ${missing}.`);
}

export function isInvitee(ctx: Context, invitation: Pick<Invitation, "email">): boolean {
  return ctx.viewer.kind === "user" && ctx.viewer.email === invitation.email;
}

/** The invitee, and members holding invitations:read, may read an invitation. */
export async function canReadInvitation(ctx: Context, invitation: Pick<Invitation, "email" | "organizationId">): Promise<boolean> {
  if (ctx.viewer.kind !== "user") return false;
  return isInvitee(ctx, invitation) || (await permissionsIn(ctx, invitation.organizationId)).has("invitations:read");
}

/** Loads an invitation the viewer may read, else NOT_FOUND (whether it is missing or hidden). */
export async function readableInvitation(ctx: Context, globalId: string, field: string): Promise<Invitation> {
  requireViewer(ctx);
  const invitation = await ctx.loaders.invitation.load(decodeIdOf("Invitation", globalId, field));
  if (!invitation || !(await canReadInvitation(ctx, invitation))) throw new NotFoundError("Invitation");
  return invitation;
}

/** An invitation addressed for an admin action (revoke, resend, delete) needing `permission`. */
export async function manageableInvitation(ctx: Context, globalId: string, permission: Permission): Promise<Invitation> {
  requireViewer(ctx);
  const invitation = await ctx.loaders.invitation.load(decodeIdOf("Invitation", globalId, "invitationId"));
  if (!invitation) throw new NotFoundError("Invitation");
  if (!(await permissionsIn(ctx, invitation.organizationId)).has(permission)) {
    const visible = (await canReadInvitation(ctx, invitation)) || (await organizationVisibility(ctx, invitation.organizationId)) !== "none";
    if (!visible) throw new NotFoundError("Invitation");
    throw new ForbiddenError("MISSING_PERMISSION", `This needs the ${permission} permission in the organization.`);
  }
  return invitation;
}

export interface AnswerInput {
  invitationId?: string | null;
  token?: string | null;
}

/**
 * The invitation the viewer is answering, by ID or by token. Only the invitee answers, and only with an email the
 * issuer has not marked unverified.
 */
export async function answerableInvitation(ctx: Context, input: AnswerInput): Promise<Invitation> {
  const viewer = requireViewer(ctx);
  const byId = input.invitationId != null && input.invitationId !== "";
  const byToken = input.token != null && input.token !== "";
  if (byId === byToken) {
    throw new BadUserInputError(byId ? "token" : "invitationId", "Give exactly one of invitationId or token.");
  }
  let invitation: Invitation;
  if (byId) {
    invitation = await readableInvitation(ctx, input.invitationId!, "invitationId");
  } else {
    const hash = hashToken(input.token!);
    // A miss spends the client's brute-force budget; past it, no look-up at all.
    const found = await (ctx.budgets ?? UNLIMITED).tokenLookup(
      () => ctx.loaders.invitationByTokenHash.load(hash),
      (row) => !!row && sameHash(row.tokenHash, hash),
    );
    if (!found || !sameHash(found.tokenHash, hash)) throw new NotFoundError("Invitation");
    invitation = found;
  }
  if (!isInvitee(ctx, invitation)) {
    throw new ForbiddenError("EMAIL_MISMATCH", "This invitation was sent to another email address.");
  }
  if (viewer.emailVerified === false) {
    throw new ForbiddenError("EMAIL_NOT_VERIFIED", "Verify your email address before answering invitations.");
  }
  return invitation;
}

/** User.email is shown to the user themself and to fellow members only. */
export async function canSeeEmail(ctx: Context, userId: string): Promise<boolean> {
  if (ctx.viewer.kind !== "user") return false;
  return userId === ctx.viewer.id || ctx.loaders.sharesOrganization.load(userId);
}

/**
 * createInvitation and resendInvitation each send an email to an address the caller chooses: they spend a budget
 * per inviting user and per organization (RATE_LIMIT_INVITATIONS_*), so neither one account nor many accounts of one
 * organization can turn the server into a mail cannon. Applied inside the permission rules, so only a caller
 * allowed to invite spends an organization's budget (an outsider cannot exhaust it for its members).
 */
import type { GraphQLResolveInfo } from "graphql";
import type { IMiddlewareFieldMap } from "graphql-middleware";
import { decodeIdOf } from "../builder.js";
import type { Context } from "../context.js";
import { UNLIMITED } from "../ratelimit.js";

type Resolve = (parent: unknown, args: Record<string, unknown>, ctx: Context, info: GraphQLResolveInfo) => unknown;
type Input = { input?: { organizationId?: string; invitationId?: string } };

async function spend(ctx: Context, organizationId: string | undefined): Promise<void> {
  if (ctx.viewer.kind !== "user" || !organizationId) return;
  await (ctx.budgets ?? UNLIMITED).invitationSent(ctx.viewer.id, organizationId);
}

export const invitationBudgets: IMiddlewareFieldMap = {
  Mutation: {
    createInvitation: async (resolve: Resolve, parent: unknown, args: Input, ctx: Context, info: GraphQLResolveInfo) => {
      await spend(ctx, decodeIdOf("Organization", args.input?.organizationId ?? "", "organizationId"));
      return resolve(parent, args, ctx, info);
    },
    resendInvitation: async (resolve: Resolve, parent: unknown, args: Input, ctx: Context, info: GraphQLResolveInfo) => {
      // Already loaded (and cached for this request) by the permission rule.
      const invitation = await ctx.loaders.invitation.load(decodeIdOf("Invitation", args.input?.invitationId ?? "", "invitationId"));
      await spend(ctx, invitation?.organizationId);
      return resolve(parent, args, ctx, info);
    },
  },
} as unknown as IMiddlewareFieldMap;

/**
 * invitationPreview(token): the invitation page a product shows before its visitor signs in. Public (no token
 * needed), so the look-up spends the client address's brute-force budget on a miss, like answering by token: the
 * field cannot be used to test guessed tokens. What it shows is in src/invitations/preview.ts.
 */
import { builder } from "../builder.js";
import { now } from "../clock.js";
import { BadUserInputError, NotFoundError } from "../errors.js";
import { previewByToken, type InvitationPreview } from "../invitations/preview.js";
import { UNLIMITED } from "../ratelimit.js";
import { InvitationStatusEnum } from "./invitation.js";

const PreviewOrganization = builder.objectRef<InvitationPreview["organization"]>("InvitationPreviewOrganization").implement({
  description: "The organization as an invitation preview shows it: no id, no members.",
  fields: (t) => ({
    name: t.exposeString("name"),
    logoUrl: t.exposeString("logoUrl", { nullable: true }),
    memberCount: t.exposeInt("memberCount"),
  }),
});

const PreviewInviter = builder.objectRef<NonNullable<InvitationPreview["invitedBy"]>>("InvitationPreviewInviter").implement({
  description: "Who sent the invitation, as an invitation preview shows them: name and avatar only.",
  fields: (t) => ({
    name: t.exposeString("name", { nullable: true }),
    avatarUrl: t.exposeString("avatarUrl", { nullable: true }),
  }),
});

const InvitationPreviewRef = builder.objectRef<InvitationPreview>("InvitationPreview").implement({
  description: "What the holder of an invitation link may see before signing in.",
  fields: (t) => ({
    maskedEmail: t.exposeString("maskedEmail", {
      description:
        "The invited address, masked: the domain whole, the local part as its first character and *** (jane@acme.com: j***@acme.com), or only *** when it has fewer than 3 characters.",
    }),
    status: t.field({ type: InvitationStatusEnum, resolve: (p) => p.status }),
    expiresAt: t.expose("expiresAt", { type: "DateTime" }),
    organization: t.field({ type: PreviewOrganization, resolve: (p) => p.organization }),
    invitedBy: t.field({ type: PreviewInviter, nullable: true, description: "Null when the inviter's account is gone.", resolve: (p) => p.invitedBy }),
  }),
});

builder.queryField("invitationPreview", (t) =>
  t.field({
    type: InvitationPreviewRef,
    nullable: true,
    description:
      "The invitation whose current token this is, as its invitee may see it before signing in; needs no Authorization. An unknown or replaced token is NOT_FOUND and spends the client address's brute-force budget (RATE_LIMITED past it).",
    args: { token: t.arg.string({ required: true }) },
    resolve: async (_root, args, ctx) => {
      if (args.token.trim() === "") throw new BadUserInputError("token", "The token is empty.");
      const found = await (ctx.budgets ?? UNLIMITED).tokenLookup(
        () => previewByToken(args.token, now()),
        (preview) => preview !== null,
      );
      if (!found) throw new NotFoundError("Invitation");
      return found;
    },
  }),
);

/**
 * The invitation preview by token: what someone holding an invitation link may see before signing in (the
 * organization's name, logo and member count, the inviter's name and avatar, the expiry, the status, and the
 * address masked). Nothing here says who else belongs to the organization or reveals the whole address: the link
 * may have been forwarded, or guessed (the caller spends the brute-force budget on a miss).
 */
import { prisma } from "../db/client.js";
import { effectiveStatus, type InvitationStatus } from "./status.js";
import { hashToken, sameHash } from "./token.js";

export interface InvitationPreview {
  maskedEmail: string;
  status: InvitationStatus;
  expiresAt: Date;
  organization: { name: string; logoUrl: string | null; memberCount: number };
  invitedBy: { name: string | null; avatarUrl: string | null } | null;
}

/**
 * `jane@acme.com` -> `j***@acme.com`. The domain stays whole (the invitee needs to know which of their addresses
 * the invitation is for). The local part shows its first character only when it has at least 3 (so at least two
 * stay hidden); shorter ones show none: `jo@acme.com` -> `***@acme.com`. The stars are always three, whatever the
 * length hidden. Characters count as Unicode code points.
 */
export function maskEmail(email: string): string {
  const at = email.lastIndexOf("@");
  const local = at < 0 ? email : email.slice(0, at);
  const domain = at < 0 ? "" : email.slice(at);
  const chars = Array.from(local);
  return `${chars.length >= 3 ? chars[0] : ""}***${domain}`;
}

/**
 * The preview of the invitation whose current token is `token`, or null when there is none (unknown, replaced by a
 * resend, or deleted). One statement.
 */
export async function previewByToken(token: string, at: Date): Promise<InvitationPreview | null> {
  const hash = hashToken(token);
  const row = await prisma.invitation.findFirst({
    where: { tokenHash: hash, deletedAt: null },
    select: {
      email: true,
      status: true,
      expiresAt: true,
      tokenHash: true,
      organization: { select: { name: true, logoUrl: true, _count: { select: { memberships: true } } } },
      invitedBy: { select: { name: true, avatarUrl: true } },
    },
  });
  if (!row || !sameHash(row.tokenHash, hash)) return null;
  return {
    maskedEmail: maskEmail(row.email),
    status: effectiveStatus(row, at),
    expiresAt: row.expiresAt,
    organization: { name: row.organization.name, logoUrl: row.organization.logoUrl, memberCount: row.organization._count.memberships },
    invitedBy: row.invitedBy ? { name: row.invitedBy.name, avatarUrl: row.invitedBy.avatarUrl } : null,
  };
}

/**
 * The full invited address of the invitation whose current token this is, or null. Only for the development /invite
 * page (src/invite-page), which signs in as that address on the developer's behalf; never exposed through the API.
 */
export async function invitedAddressByToken(token: string): Promise<string | null> {
  const hash = hashToken(token);
  const row = await prisma.invitation.findFirst({ where: { tokenHash: hash, deletedAt: null }, select: { email: true, tokenHash: true } });
  return row && sameHash(row.tokenHash, hash) ? row.email : null;
}

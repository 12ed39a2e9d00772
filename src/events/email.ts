/**
 * Invitation emails: the message (text and HTML, every user-given name escaped) and the sender the outbox worker
 * calls. The sender re-reads the invitation when it runs, so the email says what is true at sending time, and an
 * invitation answered, revoked or deleted before its email went out is not sent at all.
 */
import nodemailer, { type Transporter } from "nodemailer";
import { prisma } from "../db/client.js";
import { DEV_INVITATION_LINK_FIELD, type Logger } from "../logger.js";
import { effectiveStatus } from "../invitations/status.js";
import type { ClaimedDelivery } from "./outbox.js";
import type { Sender } from "./worker.js";

export interface InvitationEmail {
  to: string;
  organizationName: string;
  inviterName: string | null;
  expiresAt: Date;
  link: string;
}

const HTML_ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
export const escapeHtml = (value: string) => value.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]!);

/** "Mon, 7 Dec 2026, 14:00 UTC": unambiguous to a reader anywhere. */
export function formatExpiry(at: Date): string {
  return `${at.toLocaleString("en-GB", {
    weekday: "short",
    day: "numeric",
    month: "short",
    year: "numeric",
    hour: "2-digit",
    minute: "2-digit",
    timeZone: "UTC",
  })} UTC`;
}

export function renderInvitationEmail(email: InvitationEmail): { subject: string; text: string; html: string } {
  const who = email.inviterName ?? "Someone";
  const subject = `${who} invited you to join ${email.organizationName}`;
  const expiry = formatExpiry(email.expiresAt);
  const text = [
    `${who} invited you to join ${email.organizationName}.`,
    "",
    `Accept or decline the invitation here:`,
    email.link,
    "",
    `The invitation expires on ${expiry}. If you did not expect it, you can ignore this email.`,
  ].join("\n");
  const e = {
    who: escapeHtml(who),
    org: escapeHtml(email.organizationName),
    link: escapeHtml(email.link),
    expiry: escapeHtml(expiry),
  };
  const initial = escapeHtml(Array.from(email.organizationName.trim())[0]?.toUpperCase() ?? "?");
  // Tables and inline styles: what mail clients (Outlook included) lay out alike. No image, so nothing is blocked.
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light"><title>${escapeHtml(subject)}</title></head>
<body style="margin: 0; padding: 0; background: #f6f8fa">
<div style="display: none; max-height: 0; overflow: hidden">${e.who} invited you to join ${e.org}. The invitation expires on ${e.expiry}.</div>
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" style="background: #f6f8fa; padding: 32px 12px">
<tr><td align="center">
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" style="max-width: 520px; background: #ffffff; border: 1px solid #d1d9e0; border-radius: 12px; font-family: -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif; color: #1f2328">
<tr><td style="padding: 32px 32px 8px">
<table role="presentation" cellpadding="0" cellspacing="0"><tr>
<td width="48" height="48" align="center" valign="middle" style="width: 48px; height: 48px; border-radius: 10px; background: #1f6feb; color: #ffffff; font-size: 24px; font-weight: 600">${initial}</td>
</tr></table>
<h1 style="font-size: 22px; line-height: 1.3; margin: 20px 0 8px; font-weight: 600">Join ${e.org}</h1>
<p style="font-size: 16px; line-height: 1.5; margin: 0 0 24px"><strong>${e.who}</strong> invited you to join <strong>${e.org}</strong>.</p>
<table role="presentation" cellpadding="0" cellspacing="0"><tr>
<td style="border-radius: 6px; background: #1f883d"><a href="${e.link}" style="display: inline-block; padding: 12px 22px; font-size: 16px; font-weight: 600; color: #ffffff; text-decoration: none; border-radius: 6px">View the invitation</a></td>
</tr></table>
<p style="font-size: 14px; line-height: 1.5; color: #59636e; margin: 24px 0 0">The invitation expires on <strong style="color: #1f2328">${e.expiry}</strong>.</p>
</td></tr>
<tr><td style="padding: 16px 32px 32px">
<p style="font-size: 13px; line-height: 1.5; color: #59636e; margin: 16px 0 0; border-top: 1px solid #eef1f4; padding-top: 16px">If the button does not work, open this link:<br><a href="${e.link}" style="color: #0969da; word-break: break-all">${e.link}</a></p>
<p style="font-size: 13px; line-height: 1.5; color: #59636e; margin: 12px 0 0">If you did not expect this invitation, you can ignore this email.</p>
</td></tr>
</table>
</td></tr>
</table>
</body></html>`;
  return { subject, text, html };
}

export function invitationLink(template: string, token: string): string {
  return template.replaceAll("{token}", encodeURIComponent(token));
}

export interface EmailSenderOptions {
  /** "smtp": send through `transport`; "log": development without SMTP_URL, write the link to the log instead. */
  mode: "smtp" | "log";
  transport?: Transporter;
  from?: string;
  inviteUrlTemplate: string;
  logger: Logger;
}

/** An SMTP transport from SMTP_URL (smtp:// or smtps://, credentials in the URL), with bounded waits. */
export function smtpTransport(url: string): Transporter {
  return nodemailer.createTransport(url, { connectionTimeout: 10_000, greetingTimeout: 10_000, socketTimeout: 20_000 } as never);
}

export function createEmailSender(options: EmailSenderOptions): Sender {
  const { mode, transport, from, inviteUrlTemplate, logger } = options;
  return async (delivery: ClaimedDelivery, at: Date) => {
    const invitation = await prisma.invitation.findUnique({
      where: { id: delivery.invitationId },
      select: {
        email: true,
        status: true,
        expiresAt: true,
        deletedAt: true,
        organization: { select: { name: true } },
        invitedBy: { select: { name: true } },
      },
    });
    // Answered, revoked, deleted or expired before its email went out: nothing worth sending.
    if (!invitation || invitation.deletedAt || effectiveStatus(invitation, at) !== "PENDING") return "DISABLED";
    if (!delivery.token) throw new Error("The delivery has no token to send");
    const link = invitationLink(inviteUrlTemplate, delivery.token);
    if (mode === "log") {
      // The one place a token may be logged: development, no mail server, so the developer can follow the link.
      logger.info("invitation email not sent (no SMTP_URL); open the link to answer", { to: invitation.email, [DEV_INVITATION_LINK_FIELD]: link });
      return "DISABLED";
    }
    const message = renderInvitationEmail({
      to: invitation.email,
      organizationName: invitation.organization.name,
      inviterName: invitation.invitedBy?.name ?? null,
      expiresAt: invitation.expiresAt,
      link,
    });
    await transport!.sendMail({ from, to: invitation.email, ...message });
    return "SENT";
  };
}

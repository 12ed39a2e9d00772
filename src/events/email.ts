/**
 * Invitation emails: the message (text and HTML, every user-given name escaped) and the sender the outbox worker
 * calls. The sender re-reads the invitation when it runs, so the email says what is true at sending time, and an
 * invitation answered, revoked or deleted before its email went out is not sent at all.
 */
import nodemailer, { type Transporter } from "nodemailer";
import { prisma } from "../db/client.js";
import type { Logger } from "../logger.js";
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
const escapeHtml = (value: string) => value.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]!);

/** "Mon, 7 Dec 2026, 14:00 UTC": unambiguous to a reader anywhere. */
function formatExpiry(at: Date): string {
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
  const html = `<!doctype html>
<html><body style="font-family: system-ui, sans-serif; color: #1f2328; max-width: 560px; margin: 0 auto; padding: 24px">
<h1 style="font-size: 20px">Join ${e.org}</h1>
<p><strong>${e.who}</strong> invited you to join <strong>${e.org}</strong>.</p>
<p><a href="${e.link}" style="display: inline-block; background: #1f6feb; color: #fff; padding: 10px 16px; border-radius: 6px; text-decoration: none">View the invitation</a></p>
<p style="font-size: 13px; color: #59636e">Or open this link: <a href="${e.link}">${e.link}</a></p>
<p style="font-size: 13px; color: #59636e">The invitation expires on ${e.expiry}. If you did not expect it, you can ignore this email.</p>
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
      logger.info("invitation email not sent (no SMTP_URL); open the link to answer", { to: invitation.email, link });
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

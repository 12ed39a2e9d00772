/**
 * The HTML of the development /invite page: one self-contained document (no script, no external asset, one inline
 * style allowed by its hash in the Content-Security-Policy), every value from the database or the request escaped.
 */
import { createHash } from "node:crypto";
import { escapeHtml, formatExpiry } from "../events/email.js";
import type { InvitationPreview } from "../invitations/preview.js";

const STYLE = `
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; color: #1f2328; background: #f6f8fa; margin: 0; padding: 40px 16px; }
main { max-width: 480px; margin: 0 auto; background: #fff; border: 1px solid #d1d9e0; border-radius: 12px; padding: 32px; }
.badge { width: 56px; height: 56px; border-radius: 12px; background: #1f6feb; color: #fff; font-size: 28px; font-weight: 600; display: flex; align-items: center; justify-content: center; }
h1 { font-size: 22px; margin: 16px 0 8px; }
p { line-height: 1.5; margin: 8px 0; }
.muted { color: #59636e; font-size: 14px; }
.facts { margin: 16px 0; padding: 0; list-style: none; font-size: 14px; }
.facts li { padding: 6px 0; border-top: 1px solid #eef1f4; }
.actions { display: flex; gap: 12px; margin-top: 24px; }
.actions form { margin: 0; }
button { font: inherit; font-size: 15px; padding: 10px 18px; border-radius: 6px; border: 1px solid #d1d9e0; background: #f6f8fa; color: #1f2328; cursor: pointer; }
button.primary { background: #1f883d; border-color: #1a7f37; color: #fff; }
.notice { padding: 12px 16px; border-radius: 6px; background: #ddf4ff; border: 1px solid #54aeff; margin-bottom: 16px; }
.error { background: #ffebe9; border-color: #ff8182; }
.status { display: inline-block; font-size: 12px; font-weight: 600; padding: 2px 8px; border-radius: 10px; background: #eef1f4; }
footer { max-width: 480px; margin: 16px auto 0; font-size: 12px; color: #59636e; text-align: center; }
`;

/** The page's Content-Security-Policy: nothing loads, nothing runs; forms post only to this server. */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  `style-src 'sha256-${createHash("sha256").update(STYLE).digest("base64")}'`,
  "form-action 'self'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join("; ");

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="same-origin"><title>${escapeHtml(title)}</title><style>${STYLE}</style></head>
<body><main>${body}</main>
<footer>Development page of the invitations server. It answers as the invited address without signing in; in production it does not exist.</footer>
</body></html>`;
}

export interface PreviewPage {
  token: string;
  csrf: string;
  preview: InvitationPreview;
  /** After an answer (the redirect back): which one. */
  done?: "accepted" | "declined";
  /** An answer that failed: the server's message. */
  error?: string;
}

export function previewPage({ token, csrf, preview, done, error }: PreviewPage): string {
  const org = escapeHtml(preview.organization.name);
  const inviter = preview.invitedBy?.name ? escapeHtml(preview.invitedBy.name) : "Someone";
  const initial = escapeHtml(Array.from(preview.organization.name.trim())[0]?.toUpperCase() ?? "?");
  const members = preview.organization.memberCount;
  const notice = done
    ? `<p class="notice" role="status">You ${done} the invitation.</p>`
    : error
      ? `<p class="notice error" role="alert">${escapeHtml(error)}</p>`
      : "";
  const hidden = `<input type="hidden" name="token" value="${escapeHtml(token)}"><input type="hidden" name="csrf" value="${escapeHtml(csrf)}">`;
  const answer =
    preview.status === "PENDING"
      ? `<div class="actions">
<form method="post" action="/invite/accept">${hidden}<button class="primary" type="submit">Accept</button></form>
<form method="post" action="/invite/decline">${hidden}<button type="submit">Decline</button></form>
</div>`
      : `<p class="muted">This invitation is ${escapeHtml(preview.status.toLowerCase())}: there is nothing to answer.</p>`;
  return page(
    `Invitation to ${preview.organization.name}`,
    `${notice}<div class="badge" aria-hidden="true">${initial}</div>
<h1>Join ${org}</h1>
<p><strong>${inviter}</strong> invited <strong data-testid="email">${escapeHtml(preview.maskedEmail)}</strong> to join <strong data-testid="organization">${org}</strong>.</p>
<ul class="facts">
<li>Status: <span class="status" data-testid="status">${escapeHtml(preview.status)}</span></li>
<li>${members} ${members === 1 ? "member" : "members"}</li>
<li>Expires ${escapeHtml(formatExpiry(preview.expiresAt))}</li>
</ul>
${answer}`,
  );
}

export function messagePage(title: string, message: string): string {
  return page(title, `<h1>${escapeHtml(title)}</h1><p class="notice error" role="alert">${escapeHtml(message)}</p>`);
}

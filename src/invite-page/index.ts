/**
 * The development /invite page, where the default invitation link (INVITE_URL_TEMPLATE unset) leads:
 *
 *   GET  /invite?token=…   the invitation's preview (through the invitationPreview query), with Accept and Decline
 *   POST /invite/accept    answers it as the invited address, then redirects back to the page
 *   POST /invite/decline
 *
 * Answering "as the invited address" means the server signs a short-lived JWT for that address with its own
 * (development) secret and runs acceptInvitation / declineInvitation with it, through the same GraphQL pipeline
 * as any client: same rules, same events, same budgets (the client's address is the one counted). The user answering
 * is the newest user already known with that address, else `dev|<address>` (the `sub` that `npm run token` uses).
 *
 * Not installed in production (NODE_ENV=production): there the paths are 404 like any unknown path.
 *
 * Protections, although it is a development page: the forms carry a token bound to the invitation token (an HMAC
 * with a key of the server's), and a POST whose Origin or Sec-Fetch-Site says it came from another site is refused,
 * so another web page cannot make the developer's browser answer an invitation; every value shown is escaped; a
 * strict Content-Security-Policy (nothing loads, nothing runs); no Referer leaves for another site (the URL holds the token; same-origin keeps the Origin header on the forms).
 */
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import type { Plugin } from "graphql-yoga";
import { signDevToken } from "../auth/token.js";
import type { Config } from "../config.js";
import { prisma } from "../db/client.js";
import type { InvitationPreview } from "../invitations/preview.js";
import { invitedAddressByToken } from "../invitations/preview.js";
import type { Logger } from "../logger.js";
import { UNLIMITED, type RateLimiter } from "../ratelimit.js";
import { CONTENT_SECURITY_POLICY, messagePage, previewPage } from "./html.js";

type Fetch = (request: Request, serverContext: object) => Promise<Response> | Response;

export interface InvitePageOptions {
  config: Pick<Config, "jwt">;
  logger: Logger;
  rateLimiter?: RateLimiter;
  /** The GraphQL server itself (the page runs its queries and mutations through it). */
  graphql: () => { fetch: Fetch };
}

const PREVIEW = /* GraphQL */ `
  query InvitePagePreview($token: String!) {
    invitationPreview(token: $token) {
      maskedEmail status expiresAt
      organization { name logoUrl memberCount }
      invitedBy { name avatarUrl }
    }
  }
`;
const ANSWER = {
  accept: /* GraphQL */ `mutation InvitePageAccept($token: String!) { acceptInvitation(input: { token: $token }) { invitation { status } } }`,
  decline: /* GraphQL */ `mutation InvitePageDecline($token: String!) { declineInvitation(input: { token: $token }) { invitation { status } } }`,
} as const;

const MAX_FORM_BYTES = 8_192;
/** How long the JWT signed for one answer lives. */
const ANSWER_JWT_TTL = "2m";

interface GraphQLError {
  message: string;
  extensions?: { code?: string; retryAfterMs?: number };
}

function html(body: string, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(body, {
    status,
    headers: {
      "content-type": "text/html; charset=utf-8",
      "content-security-policy": CONTENT_SECURITY_POLICY,
      "x-content-type-options": "nosniff",
      "referrer-policy": "same-origin",
      "cache-control": "no-store",
      ...headers,
    },
  });
}

function redirect(location: string): Response {
  return new Response(null, { status: 303, headers: { location, "cache-control": "no-store", "referrer-policy": "same-origin" } });
}

/** The page for an error of the GraphQL answer, with a status code that says the same. */
function errorPage(error: GraphQLError): Response {
  switch (error.extensions?.code) {
    case "NOT_FOUND":
      return html(
        messagePage(
          "Invitation not found",
          "This invitation link is not valid: the token is unknown, was replaced by a newer invitation email, or the invitation was deleted.",
        ),
        404,
      );
    case "RATE_LIMITED": {
      const seconds = Math.max(1, Math.ceil((error.extensions.retryAfterMs ?? 1_000) / 1000));
      return html(messagePage("Too many attempts", `Too many unknown invitation links from this address; try again in ${seconds} s.`), 429, {
        "retry-after": String(seconds),
      });
    }
    case "SERVICE_UNAVAILABLE":
      return html(messagePage("Try again shortly", error.message), 503, { "retry-after": "1" });
    case "BAD_USER_INPUT":
      return html(messagePage("Invitation not found", "This invitation link has no token."), 400);
    default:
      return html(messagePage("Something went wrong", error.message), 500);
  }
}

export function invitePage(options: InvitePageOptions): Plugin {
  const { config, logger } = options;
  // Stable across restarts when there is a secret to derive it from (a page opened before a restart still posts).
  const csrfKey = config.jwt.secret ? createHmac("sha256", config.jwt.secret).update("invite-page-csrf").digest() : randomBytes(32);
  const csrfFor = (token: string) => createHmac("sha256", csrfKey).update(token).digest("base64url");
  const csrfMatches = (token: string, given: string) => {
    const expected = Buffer.from(csrfFor(token));
    const actual = Buffer.from(given);
    return expected.length === actual.length && timingSafeEqual(expected, actual);
  };

  async function graphql(request: Request, serverContext: object, query: string, token: string, jwt?: string) {
    const headers: Record<string, string> = { "content-type": "application/json", accept: "application/graphql-response+json" };
    if (jwt) headers.authorization = `Bearer ${jwt}`;
    // Same request id and client address as the page's request: the log lines and the budgets are the client's.
    const requestId = request.headers.get("x-request-id");
    if (requestId) headers["x-request-id"] = requestId;
    const forwarded = request.headers.get("x-forwarded-for");
    if (forwarded) headers["x-forwarded-for"] = forwarded;
    const inner = new Request(new URL("/graphql", request.url), { method: "POST", headers, body: JSON.stringify({ query, variables: { token } }) });
    const response = await options.graphql().fetch(inner, serverContext);
    return (await response.json()) as { data?: Record<string, unknown> | null; errors?: GraphQLError[] };
  }

  async function show(request: Request, serverContext: object, url: URL, failed?: { message: string; status: number }): Promise<Response> {
    const token = url.searchParams.get("token") ?? "";
    if (token.trim() === "") return html(messagePage("Invitation not found", "This invitation link has no token."), 400);
    const result = await graphql(request, serverContext, PREVIEW, token);
    const preview = result.data?.invitationPreview as (Omit<InvitationPreview, "expiresAt"> & { expiresAt: string }) | null | undefined;
    if (!preview) return errorPage(result.errors?.[0] ?? { message: "No preview." });
    const done = failed ? null : url.searchParams.get("done");
    return html(
      previewPage({
        token,
        csrf: csrfFor(token),
        preview: { ...preview, expiresAt: new Date(preview.expiresAt) },
        done: done === "accepted" || done === "declined" ? done : undefined,
        error: failed?.message,
      }),
      failed?.status ?? 200,
    );
  }

  /** Whether the browser says the form came from this very origin (or says nothing: a non-browser client). */
  function sameOrigin(request: Request, url: URL): boolean {
    const site = request.headers.get("sec-fetch-site");
    if (site && site !== "same-origin" && site !== "none") return false;
    const origin = request.headers.get("origin");
    return !origin || origin === url.origin;
  }

  async function answer(request: Request, serverContext: object, url: URL, kind: "accept" | "decline"): Promise<Response> {
    if (!sameOrigin(request, url)) return html(messagePage("Refused", "This form was sent from another site."), 403);
    if (!(request.headers.get("content-type") ?? "").startsWith("application/x-www-form-urlencoded")) {
      return html(messagePage("Refused", "Send the form as application/x-www-form-urlencoded."), 415);
    }
    if (Number(request.headers.get("content-length") ?? 0) > MAX_FORM_BYTES) return html(messagePage("Refused", "The form is too large."), 413);
    const body = await request.text();
    if (body.length > MAX_FORM_BYTES) return html(messagePage("Refused", "The form is too large."), 413);
    const form = new URLSearchParams(body);
    const token = form.get("token") ?? "";
    if (token === "" || !csrfMatches(token, form.get("csrf") ?? "")) {
      return html(messagePage("Refused", "The form's check does not match: open the invitation link again."), 403);
    }
    if (!config.jwt.secret) {
      return html(
        messagePage("Cannot answer here", "The server takes its tokens from your identity provider (JWT_JWKS_URL), so it cannot sign in as the invited address."),
        501,
      );
    }
    // The address, by the token; a miss spends the brute-force budget like any look-up by token.
    const budgets = options.rateLimiter?.budgets(request, serverContext) ?? UNLIMITED;
    const email = await budgets.tokenLookup(() => invitedAddressByToken(token), (found) => found !== null).catch((error: unknown) => {
      const retryAfterMs = (error as { extensions?: { retryAfterMs?: number } }).extensions?.retryAfterMs;
      if (retryAfterMs !== undefined) return { retryAfterMs };
      throw error;
    });
    if (email && typeof email === "object") return errorPage({ message: "", extensions: { code: "RATE_LIMITED", retryAfterMs: email.retryAfterMs } });
    if (!email) return errorPage({ message: "", extensions: { code: "NOT_FOUND" } });
    const known = await prisma.user.findFirst({ where: { email }, orderBy: [{ updatedAt: "desc" }, { id: "desc" }], select: { sub: true, name: true, avatarUrl: true } });
    const jwt = await signDevToken(
      config.jwt.secret,
      { sub: known?.sub ?? `dev|${email}`, email, name: known?.name ?? undefined, picture: known?.avatarUrl ?? undefined, email_verified: true },
      { expiresIn: ANSWER_JWT_TTL, issuer: config.jwt.issuer, audience: config.jwt.audience },
    );
    const result = await graphql(request, serverContext, ANSWER[kind], token, jwt);
    const back = new URL("/invite", url);
    back.searchParams.set("token", token);
    if (result.errors?.length) {
      // Shown on the page itself (not carried in the redirect's URL, where anyone could write any message).
      const error = result.errors[0]!;
      if (error.extensions?.code === "NOT_FOUND" || error.extensions?.code === "RATE_LIMITED") return errorPage(error);
      return show(request, serverContext, back, { message: error.message, status: error.extensions?.code === "CONFLICT" ? 409 : 400 });
    }
    logger.info("invitation answered on the development /invite page", { answer: kind });
    back.searchParams.set("done", kind === "accept" ? "accepted" : "declined");
    return redirect(back.pathname + back.search);
  }

  return {
    async onRequest({ request, url, endResponse, serverContext }) {
      if (url.pathname === "/invite" && (request.method === "GET" || request.method === "HEAD")) {
        endResponse(await show(request, serverContext ?? {}, url));
      } else if ((url.pathname === "/invite/accept" || url.pathname === "/invite/decline") && request.method === "POST") {
        endResponse(await answer(request, serverContext ?? {}, url, url.pathname === "/invite/accept" ? "accept" : "decline"));
      } else if (url.pathname === "/invite" || url.pathname.startsWith("/invite/")) {
        endResponse(new Response(null, { status: 405, headers: { allow: url.pathname === "/invite" ? "GET, HEAD" : "POST" } }));
      }
    },
  };
}

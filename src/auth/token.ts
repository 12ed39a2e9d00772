/**
 * Bearer token verification: HS256 with JWT_SECRET, or RS256/ES256 from JWT_JWKS_URL (with issuer and audience checks).
 * Any failure is UNAUTHENTICATED; a bad token is never treated as anonymous.
 */
import { createHash } from "node:crypto";
import { createRemoteJWKSet, errors, jwtVerify, SignJWT, type JWTPayload, type JWTVerifyGetKey } from "jose";
import { LRUCache } from "lru-cache";
import type { Config } from "../config.js";
import { ServiceUnavailableError, UnauthenticatedError } from "../errors.js";
import { isStorableText, normalizeEmail } from "../validation.js";

export interface Claims {
  sub: string;
  /** Lower-cased and trimmed. */
  email: string;
  /** Absent when the issuer does not say; only an explicit `false` blocks answering invitations. */
  emailVerified?: boolean;
  name?: string;
  picture?: string;
}

export type TokenVerifier = (token: string) => Promise<Claims>;

const MAX_CLAIM_LENGTH = { sub: 255, email: 254, name: 200, picture: 2048 } as const;

/** How many verified tokens one instance remembers (the least recently used go first). */
export const VERIFIED_TOKENS_MAX = 10_000;

/**
 * Verifies each token once, then answers from memory until the token's `exp`: a client sends the same token on every
 * request, and checking its signature again (and parsing its claims) was a measurable part of each request's CPU.
 * Keyed by the token's SHA-256 (the tokens themselves are not kept), bounded (least recently used evicted), and never
 * past `exp` on the wall clock, the clock jose checks `exp` with. Only successes are remembered: a bad token is
 * verified, and refused, every time. A token verified once stays accepted until it expires even if the signing key
 * is rotated out of the key set meanwhile (it was validly signed when it arrived); a changed JWT_SECRET takes a
 * restart, which empties the cache.
 */
export function cachedVerifier(verify: (token: string) => Promise<Verified>, max = VERIFIED_TOKENS_MAX): TokenVerifier {
  const verified = new LRUCache<string, Verified>({ max });
  return async (token) => {
    const key = createHash("sha256").update(token).digest("base64url");
    const hit = verified.get(key);
    if (hit) {
      if (Date.now() < hit.expMs) return hit.claims;
      verified.delete(key);
    }
    const result = await verify(token);
    if (Date.now() < result.expMs) verified.set(key, result);
    return result.claims;
  };
}

/** A verified token's claims, and its `exp` in milliseconds. */
export interface Verified {
  claims: Claims;
  expMs: number;
}

export function createTokenVerifier(jwt: Config["jwt"]): TokenVerifier {
  return cachedVerifier(uncachedTokenVerifier(jwt));
}

function uncachedTokenVerifier(jwt: Config["jwt"]): (token: string) => Promise<Verified> {
  // A token without `exp` would stay valid for ever once leaked: refused like an expired one.
  const options = { issuer: jwt.issuer, audience: jwt.audience, requiredClaims: ["exp"] };
  let verify: (token: string) => Promise<JWTPayload>;
  if (jwt.jwksUrl) {
    const jwks: JWTVerifyGetKey = createRemoteJWKSet(new URL(jwt.jwksUrl));
    verify = async (token) => (await jwtVerify(token, jwks, { ...options, algorithms: ["RS256", "ES256"] })).payload;
  } else {
    if (!jwt.secret) throw new Error("No JWT secret: set JWT_SECRET or JWT_JWKS_URL (in development, load the generated one first)");
    const key = new TextEncoder().encode(jwt.secret);
    verify = async (token) => (await jwtVerify(token, key, { ...options, algorithms: ["HS256"] })).payload;
  }
  return async (token) => {
    let payload: JWTPayload;
    try {
      payload = await verify(token);
    } catch (error) {
      // The identity provider's key set could not be fetched or read: that is our outage, not the client's bad token,
      // and a 401 would make clients drop a perfectly good session.
      if (jwt.jwksUrl && isKeySetUnavailable(error)) {
        throw new ServiceUnavailableError("The identity provider's signing keys could not be fetched; retry shortly.");
      }
      const { code, claim } = error as { code?: string; claim?: string };
      throw new UnauthenticatedError(
        code === "ERR_JWT_EXPIRED"
          ? "The token has expired."
          : code === "ERR_JWT_CLAIM_VALIDATION_FAILED" && claim === "exp"
            ? "The token has no expiry (`exp` claim); tokens must expire."
            : "The token is invalid (bad signature, format, issuer or audience).",
      );
    }
    // `exp` is required above (jose refuses a token without one, or past it), so it is a number here.
    return { claims: Object.freeze(claimsFrom(payload)), expMs: (payload.exp ?? 0) * 1000 };
  };
}

/** Network failures, time-outs, non-200 answers and unreadable JSON from the JWKS endpoint (jose's codes). */
function isKeySetUnavailable(error: unknown): boolean {
  if (!(error instanceof errors.JOSEError)) return true;
  return error.code === "ERR_JOSE_GENERIC" || error.code === "ERR_JWKS_TIMEOUT" || error.code === "ERR_JWKS_INVALID";
}

function claimsFrom(payload: JWTPayload): Claims {
  const { sub, email, email_verified, name, picture } = payload as JWTPayload & Record<string, unknown>;
  // A claim the database cannot store would fail the user upsert: the token is what is wrong, not the server.
  for (const [claim, value] of Object.entries({ sub, email, name, picture })) {
    if (typeof value === "string" && !isStorableText(value)) {
      throw new UnauthenticatedError(`The token's \`${claim}\` claim holds a NUL character or an unpaired surrogate.`);
    }
  }
  if (typeof sub !== "string" || sub.length === 0 || sub.length > MAX_CLAIM_LENGTH.sub) {
    throw new UnauthenticatedError("The token has no valid `sub` claim.");
  }
  const normalized = typeof email === "string" ? normalizeEmail(email) : undefined;
  if (!normalized) throw new UnauthenticatedError("The token has no valid `email` claim.");
  if (email_verified !== undefined && typeof email_verified !== "boolean") {
    throw new UnauthenticatedError("The token's `email_verified` claim must be a boolean.");
  }
  return {
    sub,
    email: normalized,
    emailVerified: email_verified,
    name: typeof name === "string" && name.trim() ? name.trim().slice(0, MAX_CLAIM_LENGTH.name) : undefined,
    picture: typeof picture === "string" && /^https?:\/\//i.test(picture) && picture.length <= MAX_CLAIM_LENGTH.picture ? picture : undefined,
  };
}

/** Signs a development token (HS256) for `npm run token` and tests. */
export async function signDevToken(
  secret: string,
  claims: { sub: string; email: string; name?: string; picture?: string; email_verified?: boolean },
  options: { expiresIn?: string | number; issuer?: string; audience?: string } = {},
): Promise<string> {
  let jwt = new SignJWT({ ...claims }).setProtectedHeader({ alg: "HS256", typ: "JWT" }).setIssuedAt().setSubject(claims.sub);
  jwt = jwt.setExpirationTime(options.expiresIn ?? "12h");
  if (options.issuer) jwt = jwt.setIssuer(options.issuer);
  if (options.audience) jwt = jwt.setAudience(options.audience);
  return jwt.sign(new TextEncoder().encode(secret));
}

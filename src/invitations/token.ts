/**
 * Invitation tokens: 256 random bits, URL-safe, shown once. Only a SHA-256 of the token is stored; a fast hash is
 * right here because the token is high-entropy (nothing to brute-force), unlike a password.
 */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";

const PREFIX = "inv_";

export function newToken(): { token: string; hash: string } {
  const token = PREFIX + randomBytes(32).toString("base64url");
  return { token, hash: hashToken(token) };
}

export function hashToken(token: string): string {
  return createHash("sha256").update(token, "utf8").digest("hex");
}

/** Constant-time comparison of two hex digests. */
export function sameHash(a: string, b: string): boolean {
  const x = Buffer.from(a, "hex");
  const y = Buffer.from(b, "hex");
  return x.length === y.length && timingSafeEqual(x, y);
}

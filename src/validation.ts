/**
 * Input checks shared by resolvers and rules. Each failure is BAD_USER_INPUT naming the argument in `extensions.field`.
 */
import { BadUserInputError } from "./errors.js";
import { PERMISSIONS, type Permission } from "./permissions/catalog.js";

export const LIMITS = {
  email: 254,
  name: 100,
  slug: 64,
  url: 2048,
  metadataBytes: 4096,
  pageSize: 100,
  maxExpiryDays: 30,
  /** Items in any list argument (status filters, groupIds, …), so no list makes work grow without bound. */
  listItems: 100,
  /** Nesting of objects and arrays inside a JSON value (metadata): {"a":1} is 1. */
  jsonDepth: 8,
  /** Organization.allowedEmailDomains entries. */
  emailDomains: 50,
  /** The largest Organization.seatLimit. */
  seatLimit: 1_000_000,
} as const;

// A NUL cannot be stored in a PostgreSQL text or jsonb value, and an unpaired UTF-16 surrogate has no UTF-8 form
// (it would be stored as U+FFFD, silently changing the value): both are refused before any work.
const UNPAIRED_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** True when `value` can be stored and echoed as it is: no NUL character, no unpaired surrogate. */
export function isStorableText(value: string): boolean {
  return !value.includes("\u0000") && !UNPAIRED_SURROGATE.test(value);
}

/** BAD_USER_INPUT naming `field` unless `value` is storable text. */
export function requireStorableText(value: string, field: string): void {
  if (!isStorableText(value)) {
    throw new BadUserInputError(field, `${field} must not contain NUL characters or unpaired UTF-16 surrogates.`);
  }
}

/**
 * Checks a JSON value (object keys included) for unstorable text and nesting past LIMITS.jsonDepth. Iterative, so a
 * value nested 10^5 deep (JSON.parse builds one without complaint) is refused instead of overflowing the stack.
 */
export function requireStorableJson(value: unknown, field: string): void {
  const stack: Array<[unknown, number]> = [[value, 0]];
  while (stack.length > 0) {
    const [current, depth] = stack.pop()!;
    if (typeof current === "string") {
      requireStorableText(current, field);
    } else if (current !== null && typeof current === "object") {
      if (depth + 1 > LIMITS.jsonDepth) {
        throw new BadUserInputError(field, `${field} must not be nested deeper than ${LIMITS.jsonDepth} levels.`);
      }
      if (Array.isArray(current)) {
        for (const item of current) stack.push([item, depth + 1]);
      } else {
        for (const [key, item] of Object.entries(current)) {
          requireStorableText(key, field);
          stack.push([item, depth + 1]);
        }
      }
    }
  }
}

// Pragmatic address check (the WHATWG form used by <input type=email>): one @, no spaces, a dotted domain.
const EMAIL_RE =
  /^[a-z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+$/;

/** Lower-cases and trims; undefined when the result is not a valid address. */
export function normalizeEmail(raw: string): string | undefined {
  const email = raw.trim().toLowerCase();
  if (email.length === 0 || email.length > LIMITS.email || !EMAIL_RE.test(email)) return undefined;
  const local = email.slice(0, email.indexOf("@"));
  if (local.length > 64 || local.startsWith(".") || local.endsWith(".") || local.includes("..")) return undefined;
  return email;
}

export function requireEmail(raw: string, field = "email"): string {
  if (raw.trim().length > LIMITS.email) {
    throw new BadUserInputError(field, `Email must be at most ${LIMITS.email} characters.`);
  }
  const email = normalizeEmail(raw);
  if (!email) throw new BadUserInputError(field, `"${raw.slice(0, 64)}" is not a valid email address.`);
  return email;
}

export function requireName(raw: string, field = "name", max: number = LIMITS.name): string {
  const name = raw.trim();
  if (name.length === 0) throw new BadUserInputError(field, `${field} must not be empty.`);
  if (name.length > max) throw new BadUserInputError(field, `${field} must be at most ${max} characters.`);
  return name;
}

const SLUG_RE = /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/;

export function requireSlug(raw: string, field = "slug"): string {
  const slug = raw.trim();
  if (slug.length === 0 || slug.length > LIMITS.slug || !SLUG_RE.test(slug)) {
    throw new BadUserInputError(
      field,
      `slug must be 1 to ${LIMITS.slug} lower-case letters, digits and inner hyphens.`,
    );
  }
  return slug;
}

/** A slug from a name: "Acme Inc." -> "acme-inc"; "org" when nothing usable is left. */
export function slugify(name: string): string {
  const slug = name
    .normalize("NFKD")
    .replace(/[\u0300-\u036f]/g, "")
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, LIMITS.slug - 5)
    .replace(/-+$/g, "");
  return slug || "org";
}

export function optionalUrl(raw: string | null | undefined, field: string): string | null {
  if (raw == null) return null;
  const value = raw.trim();
  if (value === "") return null;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new BadUserInputError(field, `${field} must be an absolute http(s) URL.`);
  }
  if ((url.protocol !== "https:" && url.protocol !== "http:") || value.length > LIMITS.url) {
    throw new BadUserInputError(field, `${field} must be an http(s) URL of at most ${LIMITS.url} characters.`);
  }
  return value;
}

/** Metadata: a JSON object of at most 4 KB once serialised (UTF-8). */
export function optionalMetadata(raw: unknown, field = "metadata"): Record<string, unknown> | null {
  if (raw == null) return null;
  if (typeof raw !== "object" || Array.isArray(raw)) {
    throw new BadUserInputError(field, "metadata must be a JSON object.");
  }
  const bytes = Buffer.byteLength(JSON.stringify(raw), "utf8");
  if (bytes > LIMITS.metadataBytes) {
    throw new BadUserInputError(field, `metadata must be at most ${LIMITS.metadataBytes} bytes as JSON (got ${bytes}).`);
  }
  return raw as Record<string, unknown>;
}

/** An explicit expiry: in the future, at most 30 days ahead. */
export function optionalExpiry(raw: Date | null | undefined, now: Date, field = "expiresAt"): Date | null {
  if (raw == null) return null;
  if (raw.getTime() <= now.getTime()) throw new BadUserInputError(field, "expiresAt must be in the future.");
  if (raw.getTime() > now.getTime() + LIMITS.maxExpiryDays * 24 * 3600_000) {
    throw new BadUserInputError(field, `expiresAt must be at most ${LIMITS.maxExpiryDays} days ahead.`);
  }
  return raw;
}

/** A seat limit: null (none), or a whole number from 1 to LIMITS.seatLimit. */
export function optionalSeatLimit(raw: number | null | undefined, field = "seatLimit"): number | null {
  if (raw == null) return null;
  if (!Number.isInteger(raw) || raw < 1 || raw > LIMITS.seatLimit) {
    throw new BadUserInputError(field, `${field} must be a whole number from 1 to ${LIMITS.seatLimit}, or null for no limit.`);
  }
  return raw;
}

const DOMAIN_RE = /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+$/;

/**
 * Email domains (the part after "@"): trimmed, lower-cased, each a host name with at least one dot (ASCII; IDNs in
 * their xn-- form), duplicates merged, at most LIMITS.emailDomains. Null is the empty list (any domain). A bad entry
 * is BAD_USER_INPUT naming it as `field.index`.
 */
export function emailDomains(raw: readonly string[] | null | undefined, field = "allowedEmailDomains"): string[] {
  if (raw == null) return [];
  if (raw.length > LIMITS.emailDomains) throw new BadUserInputError(field, `${field} may hold at most ${LIMITS.emailDomains} domains.`);
  const domains: string[] = [];
  raw.forEach((entry, index) => {
    const domain = entry.trim().toLowerCase();
    if (!DOMAIN_RE.test(domain)) {
      throw new BadUserInputError(`${field}.${index}`, `"${entry.slice(0, 64)}" is not a domain name such as example.com.`);
    }
    if (!domains.includes(domain)) domains.push(domain);
  });
  return domains;
}

/** An expectedVersion: a whole number of at least 1 (versions start at 1), or absent. */
export function optionalVersion(raw: number | null | undefined, field = "expectedVersion"): number | null {
  if (raw == null) return null;
  if (!Number.isInteger(raw) || raw < 1) throw new BadUserInputError(field, `${field} must be a version of at least 1.`);
  return raw;
}

/** Connection page size: 0..100. */
export function checkPageSize(value: number | null | undefined, field: "first" | "last"): void {
  if (value == null) return;
  if (value < 0 || value > LIMITS.pageSize) {
    throw new BadUserInputError(field, `${field} must be between 0 and ${LIMITS.pageSize}.`);
  }
}

/**
 * A role's permissions: each from the catalogue (src/permissions/catalog.ts), duplicates merged, returned in
 * catalogue order so that equal sets read the same. An empty list is a role that grants nothing beyond membership.
 */
export function requirePermissionList(raw: readonly string[], field = "permissions"): Permission[] {
  if (raw.length > LIMITS.listItems) throw new BadUserInputError(field, `At most ${LIMITS.listItems} permissions.`);
  const known = new Set<string>(PERMISSIONS);
  const unknown = raw.filter((p) => !known.has(p));
  if (unknown.length > 0) {
    throw new BadUserInputError(
      field,
      `Unknown permission ${JSON.stringify(unknown[0]!.slice(0, 64))}; the catalogue: ${PERMISSIONS.join(", ")}.`,
    );
  }
  const wanted = new Set(raw);
  return PERMISSIONS.filter((p) => wanted.has(p));
}

const ROLE_KEY_RE = /^[a-z0-9](?:[a-z0-9_-]*[a-z0-9])?$/;

/** A custom role's key: 1 to 64 lower-case letters, digits, inner hyphens and underscores. */
export function requireRoleKey(raw: string, field = "key"): string {
  const key = raw.trim();
  if (key.length === 0 || key.length > LIMITS.slug || !ROLE_KEY_RE.test(key)) {
    throw new BadUserInputError(field, `key must be 1 to ${LIMITS.slug} lower-case letters, digits, inner hyphens and underscores.`);
  }
  return key;
}

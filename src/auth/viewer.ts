/**
 * The viewer of a request: anonymous, or a user created or refreshed from the token's claims.
 */
import { now } from "../clock.js";
import { prisma } from "../db/client.js";
import { uuidv7 } from "../ids.js";
import type { Claims } from "./token.js";

export interface UserViewer {
  kind: "user";
  id: string;
  sub: string;
  email: string;
  /** From the current token, not the stored row. */
  emailVerified: boolean | undefined;
}

export type Viewer = { kind: "anonymous" } | UserViewer;

export const ANONYMOUS: Viewer = { kind: "anonymous" };

/**
 * Claims this instance wrote (or found already stored) recently -> the user's id. A request whose claims match an
 * entry skips the database: the row exists and holds these claims, or newer ones written from a newer token (which
 * an older token must not overwrite anyway). Per instance and short-lived, so nothing has to agree across instances.
 */
const recent = new Map<string, { id: string; until: number }>();
const RECENT_TTL_MS = 60_000;
const RECENT_MAX = 10_000;

function claimsKey(claims: Claims): string {
  return JSON.stringify([claims.sub, claims.email, claims.emailVerified ?? null, claims.name ?? null, claims.picture ?? null]);
}

/**
 * Creates the user on first sight of a `sub`, refreshes email, name and picture when they changed, and returns it.
 * One statement whatever the case: the update only happens when a column differs, so the common request
 * (nothing changed) takes no row lock and writes nothing; and none at all when this instance saw the same claims
 * within the last minute.
 */
export async function upsertViewer(claims: Claims): Promise<UserViewer> {
  const key = claimsKey(claims);
  const at = now().getTime();
  const cached = recent.get(key);
  if (cached && cached.until > at) return viewerOf(cached.id, claims);
  // A concurrent first request for the same `sub` can commit its insert after this statement's snapshot was
  // taken: then neither branch returns the row, and a second attempt (new snapshot) finds it.
  for (let attempt = 0; attempt < 3; attempt += 1) {
    const id = await upsertOnce(claims);
    if (id) {
      recent.delete(key);
      recent.set(key, { id, until: at + RECENT_TTL_MS });
      if (recent.size > RECENT_MAX) recent.delete(recent.keys().next().value!);
      return viewerOf(id, claims);
    }
  }
  throw new Error("upsertViewer found no row after three attempts");
}

function viewerOf(id: string, claims: Claims): UserViewer {
  return { kind: "user", id, sub: claims.sub, email: claims.email, emailVerified: claims.emailVerified };
}

async function upsertOnce(claims: Claims): Promise<string | undefined> {
  const rows = await prisma.$queryRaw<{ id: string }[]>`
    WITH upserted AS (
      INSERT INTO "User" ("id", "sub", "email", "emailVerified", "name", "avatarUrl", "createdAt", "updatedAt")
      VALUES (${uuidv7()}::uuid, ${claims.sub}, ${claims.email}, ${claims.emailVerified ?? null}, ${claims.name ?? null}, ${claims.picture ?? null}, now(), now())
      ON CONFLICT ("sub") DO UPDATE
        SET "email" = EXCLUDED."email", "emailVerified" = EXCLUDED."emailVerified", "name" = EXCLUDED."name",
            "avatarUrl" = EXCLUDED."avatarUrl", "updatedAt" = now()
        WHERE ("User"."email", "User"."emailVerified", "User"."name", "User"."avatarUrl")
          IS DISTINCT FROM (EXCLUDED."email", EXCLUDED."emailVerified", EXCLUDED."name", EXCLUDED."avatarUrl")
      RETURNING "id"
    )
    SELECT "id"::text AS id FROM upserted
    UNION ALL
    SELECT "id"::text AS id FROM "User" WHERE "sub" = ${claims.sub} AND NOT EXISTS (SELECT 1 FROM upserted)`;
  return rows[0]?.id;
}

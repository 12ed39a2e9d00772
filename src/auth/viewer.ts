/**
 * The viewer of a request: anonymous, or a user created or refreshed from the token's claims.
 */
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
 * Creates the user on first sight of a `sub`, refreshes email, name and picture when they changed, and returns it.
 * One statement whatever the case: the update only happens when a column differs, so the common request
 * (nothing changed) takes no row lock and writes nothing.
 */
export async function upsertViewer(claims: Claims): Promise<UserViewer> {
  // A concurrent first request for the same `sub` can commit its insert after this statement's snapshot was
  // taken: then neither branch returns the row, and a second attempt (new snapshot) finds it.
  for (let attempt = 0; attempt < 3; attempt += 1) {
    const id = await upsertOnce(claims);
    if (id) return { kind: "user", id, sub: claims.sub, email: claims.email, emailVerified: claims.emailVerified };
  }
  throw new Error("upsertViewer found no row after three attempts");
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

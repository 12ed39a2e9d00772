/**
 * Unique-constraint violations as the contract's CONFLICT errors. The database decides races (two requests taking
 * one slug, two pending invitations for one email); this turns its refusal into the reason a client can act on.
 *
 * Both driver adapters are recognised: @prisma/adapter-pg surfaces Prisma's P2002 (constraint name in
 * meta.driverAdapterError.cause.originalMessage), while pglite-prisma-adapter surfaces a bare DriverAdapterError whose
 * cause carries PostgreSQL's SQLSTATE 23505 and message. (src/errors.ts' fromPrismaError only knows the first.)
 */
import { ConflictError } from "../errors.js";

const CONFLICTS: Record<string, () => ConflictError> = {
  Organization_slug_key: () => new ConflictError("SLUG_TAKEN", "This slug is already taken."),
  Group_organizationId_name_key: () => new ConflictError("GROUP_NAME_TAKEN", "A group with this name already exists in this organization."),
  Invitation_one_pending_per_email: () =>
    new ConflictError("ALREADY_INVITED", "A pending invitation for this email already exists in this organization."),
  Membership_userId_organizationId_key: () => new ConflictError("ALREADY_MEMBER", "This user is already a member of the organization."),
};

/** The name of the unique constraint `error` reports violating, or undefined when it is not a unique violation. */
export function violatedUniqueConstraint(error: unknown): string | undefined {
  const seen = new Set<unknown>();
  let unique = false;
  const messages: string[] = [];
  let e: unknown = error;
  while (e && typeof e === "object" && !seen.has(e)) {
    seen.add(e);
    const { code, originalCode, kind, message, originalMessage } = e as Record<string, unknown>;
    if (code === "P2002" || code === "23505" || originalCode === "23505" || kind === "UniqueConstraintViolation") unique = true;
    for (const text of [message, originalMessage]) if (typeof text === "string") messages.push(text);
    const next = e as { cause?: unknown; meta?: { driverAdapterError?: unknown } };
    e = next.meta?.driverAdapterError ?? next.cause;
  }
  if (!unique) return undefined;
  for (const text of messages) {
    const match = /unique constraint "([^"]+)"/.exec(text);
    if (match) return match[1];
  }
  return "";
}

/** The CONFLICT error for a known unique violation, or undefined. */
export function conflictFrom(error: unknown): ConflictError | undefined {
  const constraint = violatedUniqueConstraint(error);
  return constraint ? CONFLICTS[constraint]?.() : undefined;
}

/** Runs `write`; a known unique violation becomes its CONFLICT error, anything else is rethrown unchanged. */
export async function withConflicts<T>(write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (error) {
    throw conflictFrom(error) ?? error;
  }
}

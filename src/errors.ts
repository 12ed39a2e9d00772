/**
 * The error codes of shared/API.md as GraphQLError subclasses, and the one place that turns anything else
 * (Prisma errors, Pothos validation errors, database outages) into a code a client can act on.
 */
import { GraphQLError } from "graphql";

export type ErrorCode =
  | "UNAUTHENTICATED"
  | "FORBIDDEN"
  | "NOT_FOUND"
  | "BAD_USER_INPUT"
  | "BAD_REQUEST"
  | "GRAPHQL_PARSE_FAILED"
  | "GRAPHQL_VALIDATION_FAILED"
  | "CONFLICT"
  | "RATE_LIMITED"
  | "SERVICE_UNAVAILABLE"
  | "INTERNAL_SERVER_ERROR";

export type ForbiddenReason = "MISSING_PERMISSION" | "NOT_SELF" | "EMAIL_MISMATCH" | "EMAIL_NOT_VERIFIED" | "ROLE_ESCALATION";
export type ConflictReason =
  | "ALREADY_MEMBER"
  | "ALREADY_INVITED"
  | "INVITATION_NOT_PENDING"
  | "INVITATION_EXPIRED"
  | "SLUG_TAKEN"
  | "GROUP_NAME_TAKEN";

/** A failure the client caused or can act on. Never masked. */
export class AppError extends GraphQLError {
  constructor(message: string, code: ErrorCode, extensions: Record<string, unknown> = {}) {
    super(message, { extensions: { code, ...extensions } });
  }
}

export class UnauthenticatedError extends AppError {
  constructor(message = "Authentication required: send a valid Bearer token.") {
    super(message, "UNAUTHENTICATED", { http: { status: 401, headers: { "WWW-Authenticate": "Bearer" } } });
  }
}

export class ForbiddenError extends AppError {
  constructor(reason: ForbiddenReason, message: string) {
    super(message, "FORBIDDEN", { reason });
  }
}

export class NotFoundError extends AppError {
  constructor(what = "Object") {
    super(`${what} not found.`, "NOT_FOUND");
  }
}

export class BadUserInputError extends AppError {
  constructor(field: string, message: string) {
    super(message, "BAD_USER_INPUT", { field });
  }
}

export class ConflictError extends AppError {
  constructor(reason: ConflictReason, message: string) {
    super(message, "CONFLICT", { reason });
  }
}

export class ServiceUnavailableError extends AppError {
  constructor(message = "The database is unavailable; retry shortly.", retryAfterMs = 1_000) {
    // 503 with Retry-After even under application/json: a client or proxy retries on the status, not on the body.
    super(message, "SERVICE_UNAVAILABLE", {
      retryAfterMs,
      http: { status: 503, headers: { "Retry-After": String(Math.max(1, Math.ceil(retryAfterMs / 1000))) } },
    });
  }
}

export class RateLimitedError extends AppError {
  constructor(retryAfterMs: number) {
    const retryAfterSeconds = Math.max(1, Math.ceil(retryAfterMs / 1000));
    // 429 with Retry-After under either media type, like the 503 above: clients and proxies back off on the status.
    super(`Too many requests; retry in ${retryAfterSeconds} s.`, "RATE_LIMITED", {
      retryAfterMs,
      http: { status: 429, headers: { "Retry-After": String(retryAfterSeconds) } },
    });
  }
}

/** Prisma's known request error, duck-typed: the generated client has its own copy of the class. */
interface PrismaKnownError {
  code: string;
  meta?: { target?: string | string[]; modelName?: string; constraint?: string; driverAdapterError?: unknown };
  message: string;
}

function isPrismaKnownError(error: unknown): error is PrismaKnownError {
  return (
    typeof error === "object" &&
    error !== null &&
    typeof (error as { code?: unknown }).code === "string" &&
    /^P\d{4}$/.test((error as { code: string }).code)
  );
}

const CONNECTION_ERROR_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "ENOTFOUND", "EPIPE", "57P01", "57P03", "08006", "08001", "08003"]);

/** True for errors that mean "the database cannot be reached right now". */
export function isConnectionError(error: unknown): boolean {
  const seen = new Set<unknown>();
  let e: unknown = error;
  while (e && typeof e === "object" && !seen.has(e)) {
    seen.add(e);
    const { code, message, kind } = e as { code?: unknown; message?: unknown; kind?: unknown };
    if (typeof code === "string" && (CONNECTION_ERROR_CODES.has(code) || code === "P1001" || code === "P1017")) return true;
    if (kind === "DatabaseNotReachable" || kind === "ConnectionClosed" || kind === "SocketTimeout") return true;
    if (typeof message === "string" && /Connection terminated|connect ECONNREFUSED|timeout exceeded when trying to connect|Client has encountered a connection error/i.test(message)) {
      return true;
    }
    e = (e as { cause?: unknown }).cause ?? (e as { meta?: { driverAdapterError?: unknown } }).meta?.driverAdapterError;
  }
  return false;
}

/** The unique constraints of the migrations, as the contract's CONFLICT errors. */
const CONFLICTS: Record<string, () => ConflictError> = {
  Organization_slug_key: () => new ConflictError("SLUG_TAKEN", "This slug is already taken."),
  Group_organizationId_name_key: () => new ConflictError("GROUP_NAME_TAKEN", "A group with this name already exists in this organization."),
  Invitation_one_pending_per_email: () =>
    new ConflictError("ALREADY_INVITED", "A pending invitation for this email already exists in this organization."),
  Membership_userId_organizationId_key: () => new ConflictError("ALREADY_MEMBER", "This user is already a member of the organization."),
};

/**
 * The name of the unique constraint `error` reports violating ("" when unnamed), or undefined when it is not a unique
 * violation. Both driver adapters are recognised: @prisma/adapter-pg surfaces Prisma's P2002 (constraint name in
 * meta.driverAdapterError.cause), pglite-prisma-adapter a bare DriverAdapterError with SQLSTATE 23505.
 */
export function violatedUniqueConstraint(error: unknown): string | undefined {
  const seen = new Set<unknown>();
  let unique = false;
  const messages: string[] = [];
  let e: unknown = error;
  while (e && typeof e === "object" && !seen.has(e)) {
    seen.add(e);
    const { code, originalCode, kind, message, originalMessage, constraint } = e as Record<string, unknown>;
    if (code === "P2002" || code === "23505" || originalCode === "23505" || kind === "UniqueConstraintViolation") unique = true;
    if (typeof constraint === "string") messages.push(`unique constraint "${constraint}"`);
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

/** Maps a database error to a contract error, or returns undefined when it is not one we can explain. */
export function fromPrismaError(error: unknown): AppError | undefined {
  if (isConnectionError(error)) return new ServiceUnavailableError();
  const conflict = conflictFrom(error);
  if (conflict) return conflict;
  if (!isPrismaKnownError(error)) return undefined;
  switch (error.code) {
    case "P2025":
      return new NotFoundError();
    case "P2024": // timed out fetching a connection from the pool
    case "P2028": // transaction API error: could not start in time, or ran out of time
      return new ServiceUnavailableError("The server is overloaded; retry shortly.");
    case "P2003":
      return new BadUserInputError("input", "A referenced object does not exist.");
    default:
      return undefined;
  }
}

/**
 * The error codes of the API (docs/api.md, "Errors") as GraphQLError subclasses, the one place that turns anything
 * else (Prisma errors, Pothos validation errors, database outages) into a code a client can act on, and the masking
 * that decides what of an error a client sees.
 */
import { randomUUID } from "node:crypto";
import { GraphQLError } from "graphql";
import type { Logger } from "./logger.js";

/** Every code a client may see, in `extensions.code`. */
export const ERROR_CODES = [
  "UNAUTHENTICATED",
  "FORBIDDEN",
  "NOT_FOUND",
  "BAD_USER_INPUT",
  "BAD_REQUEST",
  "GRAPHQL_PARSE_FAILED",
  "GRAPHQL_VALIDATION_FAILED",
  "CONFLICT",
  "RATE_LIMITED",
  "SERVICE_UNAVAILABLE",
  "INTERNAL_SERVER_ERROR",
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

/**
 * Codes that pass through masking as they are. INTERNAL_SERVER_ERROR is the one the server alone gives (with a
 * reference), so an error arriving with it from elsewhere is masked like any unexplained failure.
 */
const PUBLIC_CODES: ReadonlySet<string> = new Set(ERROR_CODES.filter((code) => code !== "INTERNAL_SERVER_ERROR"));

export type ForbiddenReason =
  | "MISSING_PERMISSION"
  | "NOT_SELF"
  | "EMAIL_MISMATCH"
  | "EMAIL_NOT_VERIFIED"
  | "ROLE_ESCALATION"
  | "DOMAIN_NOT_ALLOWED";
export type ConflictReason =
  | "ALREADY_MEMBER"
  | "ALREADY_INVITED"
  | "INVITATION_NOT_PENDING"
  | "INVITATION_EXPIRED"
  | "SLUG_TAKEN"
  | "GROUP_NAME_TAKEN"
  | "ROLE_KEY_TAKEN"
  | "LAST_OWNER"
  | "ROLE_IN_USE"
  | "BUILT_IN_ROLE"
  | "SEAT_LIMIT_REACHED"
  | "STALE_VERSION"
  | "WEBHOOK_LIMIT_REACHED";

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
    if (
      typeof message === "string" &&
      /Connection terminated|connect ECONNREFUSED|timeout exceeded when trying to connect|Client has encountered a connection error|Query read timeout|Cannot use a pool after calling end/i.test(
        message,
      )
    ) {
      return true;
    }
    e = (e as { cause?: unknown }).cause ?? (e as { meta?: { driverAdapterError?: unknown } }).meta?.driverAdapterError;
  }
  return false;
}

/**
 * True for a statement PostgreSQL cancelled (SQLSTATE 57014: statement_timeout, or a cancel request). The connection
 * stays usable; the request is answered SERVICE_UNAVAILABLE, since retrying later may well succeed.
 */
export function isStatementTimeout(error: unknown): boolean {
  const seen = new Set<unknown>();
  let e: unknown = error;
  while (e && typeof e === "object" && !seen.has(e)) {
    seen.add(e);
    const { code, originalCode } = e as { code?: unknown; originalCode?: unknown };
    if (code === "57014" || originalCode === "57014") return true;
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
  Role_organizationId_key_key: () => new ConflictError("ROLE_KEY_TAKEN", "A role with this key already exists in this organization."),
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
  if (isStatementTimeout(error)) return new ServiceUnavailableError("The database took too long to answer; retry shortly.");
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

// ---- Masking: what a client sees of an error -----------------------------------------------------------------

/** Codes that Yoga and graphql-tools put on request errors, in the contract's terms. */
const LIBRARY_CODES: Record<string, string> = {
  // Unknown operationName, or several operations and none named.
  OPERATION_RESOLUTION_FAILURE: "BAD_REQUEST",
  // A body over MAX_BODY_BYTES (src/plugins/body-limit.ts, Yoga's error); it keeps its 413.
  REQUEST_ENTITY_TOO_LARGE: "BAD_REQUEST",
};

/** HTTP status of a request error (one that leaves no `data`), by code. */
const REQUEST_ERROR_STATUS: Record<string, number> = {
  BAD_REQUEST: 400,
  BAD_USER_INPUT: 400,
  GRAPHQL_PARSE_FAILED: 400,
  GRAPHQL_VALIDATION_FAILED: 400,
  INTERNAL_SERVER_ERROR: 500,
};

/**
 * Contract errors pass through; known library errors are translated; anything else becomes INTERNAL_SERVER_ERROR
 * with a reference, and its details go to the log only. An error without a path failed the whole request (there is
 * no `data`), so it also gets the HTTP status the GraphQL-over-HTTP spec asks for.
 */
export function maskError(error: unknown, logger: Logger): Error {
  const masked = classifyError(error, logger);
  const requestLevel = !(error instanceof GraphQLError && error.path);
  return requestLevel ? withRequestStatus(masked) : masked;
}

function classifyError(error: unknown, logger: Logger): Error {
  const graphQLError = error instanceof GraphQLError ? error : undefined;
  const original = graphQLError?.originalError ?? error;
  // Where it happened: the field's nodes, or (errors from a compiled query, src/plugins/jit.ts) the source positions.
  const where = { nodes: graphQLError?.nodes, source: graphQLError?.source, positions: graphQLError?.positions, path: graphQLError?.path };
  const located = (e: GraphQLError) => new GraphQLError(e.message, { ...where, extensions: e.extensions });

  if (original instanceof AppError) return graphQLError && graphQLError !== original ? located(original) : original;
  if (graphQLError && (!graphQLError.originalError || graphQLError.originalError instanceof GraphQLError)) {
    const code = graphQLError.extensions?.code;
    if (typeof code === "string" && PUBLIC_CODES.has(code)) return graphQLError;
    const withCode = (contractCode: string) =>
      new GraphQLError(graphQLError.message, { ...where, extensions: { ...graphQLError.extensions, code: contractCode } });
    if (typeof code === "string" && LIBRARY_CODES[code]) return withCode(LIBRARY_CODES[code]);
    // graphql-js' own errors have no code: without a path they are request errors (a variable that does not coerce,
    // whose originalError is the scalar's complaint); with one, the client's input to that field.
    if (code === undefined && !graphQLError.path) return withCode("BAD_REQUEST");
    if (code === undefined && !graphQLError.originalError) return withCode("BAD_USER_INPUT");
  }
  const mapped = fromPrismaError(original);
  if (mapped) return located(mapped);
  if ((original as Error | undefined)?.name === "PothosValidationError") {
    return located(new BadUserInputError(guessField((original as Error).message), (original as Error).message));
  }
  const reference = randomUUID();
  if (isConnectionError(original)) {
    logger.warn("database unreachable", { reference, error: original });
    return located(new ServiceUnavailableError());
  }
  logger.error("unexpected error", { reference, path: graphQLError?.path, error: original });
  return new GraphQLError("Unexpected error.", {
    ...where,
    extensions: { code: "INTERNAL_SERVER_ERROR", reference },
  });
}

/**
 * Adds `extensions.http` (which Yoga turns into the status and leaves out of the response) to a request error that
 * has none. `spec: true` applies the 4xx under `application/graphql-response+json` only, as the spec says; legacy
 * `application/json` clients keep 200.
 */
function withRequestStatus(error: Error): Error {
  if (!(error instanceof GraphQLError) || error.extensions?.http) return error;
  const status = REQUEST_ERROR_STATUS[String(error.extensions?.code)];
  if (!status) return error;
  return new GraphQLError(error.message, {
    nodes: error.nodes,
    source: error.source,
    positions: error.positions,
    path: error.path,
    originalError: error.originalError,
    extensions: { ...error.extensions, http: status >= 500 ? { status } : { status, spec: true } },
  });
}

function guessField(message: string): string {
  const named = /"(first|last|after|before)"/.exec(message);
  if (named) return named[1]!;
  return /cursor/i.test(message) ? "after" : "input";
}

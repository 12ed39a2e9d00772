/**
 * The HTTP server as a fetch handler: Yoga with the Pothos schema behind graphql-shield, the request context,
 * error masking, GraphiQL (served offline), /health and /ready. Tests call `server.fetch` directly; src/main.ts
 * puts it on a port.
 */
import { randomUUID } from "node:crypto";
import { renderGraphiQL } from "@graphql-yoga/render-graphiql";
import { GraphQLError, type GraphQLSchema } from "graphql";
import { createYoga, type Plugin, type YogaServerInstance } from "graphql-yoga";
import { createTokenVerifier, type TokenVerifier } from "./auth/token.js";
import { ANONYMOUS, upsertViewer, type Viewer } from "./auth/viewer.js";
import type { Config } from "./config.js";
import type { Context } from "./context.js";
import { currentDatabase } from "./db/client.js";
import { AppError, BadUserInputError, fromPrismaError, isConnectionError, ServiceUnavailableError, UnauthenticatedError } from "./errors.js";
import { createLoaders, freshLoadersAfterMutations } from "./loaders.js";
import type { Logger } from "./logger.js";
import { connectionArgsMiddleware } from "./pagination.js";
import { protectSchema } from "./permissions/index.js";
import { inputGuard } from "./plugins/input-guard.js";
import type { RateLimiter } from "./ratelimit.js";
import { schema } from "./schema/index.js";

export interface ServerOptions {
  config: Pick<Config, "jwt" | "invitationTtlHours" | "nodeEnv">;
  logger: Logger;
  /** Whether start-up finished (migrations applied). /ready and /graphql answer 503 until then. */
  isReady: () => boolean;
  /**
   * Whether the server is shutting down: /ready then answers 503 (so load balancers stop sending), while requests
   * that still arrive on open connections are served until the database closes.
   */
  isStopping?: () => boolean;
  /** Overrides token verification (tests with their own keys). */
  verifyToken?: TokenVerifier;
  /** Counts GraphQL requests per client (see src/ratelimit.ts); none: no limits. */
  rateLimiter?: RateLimiter;
}

/** The executable schema: Pothos' schema with the pagination checks and the shield rules applied. */
export const protectedSchema: GraphQLSchema = protectSchema(schema, connectionArgsMiddleware, freshLoadersAfterMutations(schema));

export type Server = YogaServerInstance<Record<string, unknown>, Context>;

export function createServer(options: ServerOptions): Server {
  const { logger, isReady, rateLimiter } = options;
  const isStopping = options.isStopping ?? (() => false);
  const verifyToken = options.verifyToken ?? createTokenVerifier(options.config.jwt);
  const settings = { invitationTtlHours: options.config.invitationTtlHours };

  return createYoga<Record<string, unknown>, Context>({
    schema: protectedSchema,
    graphqlEndpoint: "/graphql",
    healthCheckEndpoint: false as unknown as string,
    landingPage: false,
    graphiql: { title: "Invitations API" },
    renderGraphiQL,
    logging: {
      debug: (...args) => logger.debug(String(args[0]), { args: args.slice(1) }),
      info: (...args) => logger.info(String(args[0]), { args: args.slice(1) }),
      warn: (...args) => logger.warn(String(args[0]), { args: args.slice(1) }),
      // Yoga logs every error that maskError replaced, client mistakes included; maskError itself logs the
      // unexpected ones (with the reference the client sees), so Yoga's copies are only debug detail.
      error: (...args) =>
        args[0] instanceof Error
          ? logger.debug(String(args[0].message), { error: args[0] })
          : logger.error(String(args[0]), { args: args.slice(1) }),
    },
    plugins: [probes(isReady, isStopping), requestErrorCodes(), inputGuard(), ...(rateLimiter ? [rateLimiter.plugin] : [])],
    context: async (initial): Promise<Context> => {
      const { request } = initial;
      const requestId = request.headers.get("x-request-id")?.slice(0, 100) || randomUUID();
      if (!isReady()) throw new ServiceUnavailableError("The server is starting; retry shortly.");
      const viewer = await viewerFrom(request.headers.get("authorization"), verifyToken);
      await rateLimiter?.check(request, initial, viewer);
      return { requestId, viewer, loaders: createLoaders(viewer), settings };
    },
    maskedErrors: {
      maskError: (error) => maskError(error, logger),
    },
  });
}

async function viewerFrom(header: string | null, verifyToken: TokenVerifier): Promise<Viewer> {
  if (header == null || header.trim() === "") return ANONYMOUS;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!match) throw new UnauthenticatedError("The Authorization header must be `Bearer <token>`.");
  const claims = await verifyToken(match[1]!);
  try {
    return await upsertViewer(claims);
  } catch (error) {
    if (isConnectionError(error)) throw new ServiceUnavailableError();
    throw error;
  }
}

const PUBLIC_CODES = new Set([
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
]);

/** Codes that Yoga and graphql-tools put on request errors, in the contract's terms. */
const LIBRARY_CODES: Record<string, string> = {
  // Unknown operationName, or several operations and none named.
  OPERATION_RESOLUTION_FAILURE: "BAD_REQUEST",
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
  const located = (e: GraphQLError) =>
    new GraphQLError(e.message, { nodes: graphQLError?.nodes, path: graphQLError?.path, extensions: e.extensions });

  if (original instanceof AppError) return graphQLError && graphQLError !== original ? located(original) : original;
  if (graphQLError && (!graphQLError.originalError || graphQLError.originalError instanceof GraphQLError)) {
    const code = graphQLError.extensions?.code;
    if (typeof code === "string" && PUBLIC_CODES.has(code)) return graphQLError;
    const withCode = (contractCode: string) =>
      new GraphQLError(graphQLError.message, {
        nodes: graphQLError.nodes,
        path: graphQLError.path,
        extensions: { ...graphQLError.extensions, code: contractCode },
      });
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
    nodes: graphQLError?.nodes,
    path: graphQLError?.path,
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

/** /health: the process answers. /ready: start-up finished and the database answers. */
function probes(isReady: () => boolean, isStopping: () => boolean): Plugin {
  return {
    async onRequest({ url, endResponse, fetchAPI }) {
      if (url.pathname === "/health") {
        endResponse(Response.json({ status: "ok" }, { status: 200 }));
        return;
      }
      if (url.pathname === "/ready") {
        if (!isReady()) {
          endResponse(fetchAPI.Response.json({ status: "starting", database: "unknown", migrations: "pending" }, { status: 503 }));
          return;
        }
        if (isStopping()) {
          endResponse(fetchAPI.Response.json({ status: "stopping", database: "up", migrations: "applied" }, { status: 503 }));
          return;
        }
        try {
          await withTimeout(currentDatabase().ping(), 2_000);
          endResponse(fetchAPI.Response.json({ status: "ready", database: "up", migrations: "applied" }, { status: 200 }));
        } catch {
          endResponse(fetchAPI.Response.json({ status: "unavailable", database: "down", migrations: "applied" }, { status: 503 }));
        }
      }
    },
  };
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}

/**
 * Gives request errors (before execution) the codes of the contract: GRAPHQL_PARSE_FAILED,
 * GRAPHQL_VALIDATION_FAILED, or BAD_REQUEST for a malformed HTTP request.
 */
function requestErrorCodes(): Plugin {
  const withCode = (errors: readonly GraphQLError[], code: string) =>
    errors.map(
      (e) =>
        new GraphQLError(e.message, {
          nodes: e.nodes,
          source: e.source,
          positions: e.positions,
          path: e.path,
          originalError: e.originalError,
          extensions: { ...e.extensions, code },
        }),
    );
  return {
    // Yoga answers an unsupported Content-Type with a bare 415; give it a body with a code like every other error.
    onRequestParse({ request, requestParser, endResponse, fetchAPI }) {
      if (requestParser) return;
      const error = {
        message: `Unsupported Content-Type ${JSON.stringify(request.headers.get("content-type") ?? "")}: send application/json.`,
        extensions: { code: "BAD_REQUEST" },
      };
      endResponse(
        new fetchAPI.Response(JSON.stringify({ errors: [error] }), {
          status: 415,
          headers: { "content-type": "application/json; charset=utf-8" },
        }),
      );
    },
    onParse() {
      return ({ result, replaceParseResult }) => {
        if (result instanceof GraphQLError) replaceParseResult(withCode([result], "GRAPHQL_PARSE_FAILED")[0]!);
        else if (result instanceof Error) replaceParseResult(new GraphQLError(result.message, { extensions: { code: "GRAPHQL_PARSE_FAILED" } }));
      };
    },
    onValidate() {
      return ({ result, setResult }) => {
        if (result.length > 0) setResult(withCode(result as readonly GraphQLError[], "GRAPHQL_VALIDATION_FAILED"));
      };
    },
  };
}

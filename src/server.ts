/**
 * The HTTP server as a fetch handler: Yoga with the Pothos schema behind graphql-shield, the request context,
 * error masking, GraphiQL (served offline), /health and /ready. Tests call `server.fetch` directly; src/main.ts
 * puts it on a port.
 */
import { randomUUID } from "node:crypto";
import { GraphQLError, type GraphQLSchema } from "graphql";
import { createYoga, type GraphiQLOptions, type Plugin, type YogaServerInstance } from "graphql-yoga";
import { createTokenVerifier, type TokenVerifier } from "./auth/token.js";
import { ANONYMOUS, upsertViewer, type Viewer } from "./auth/viewer.js";
import type { Config } from "./config.js";
import { setDeliveryPlan } from "./events/plan.js";
import type { Context } from "./context.js";
import { currentDatabase } from "./db/client.js";
import { graphiqlOptions } from "./demo/graphiql.js";
import { isConnectionError, maskError, ServiceUnavailableError, UnauthenticatedError } from "./errors.js";
import { createLoaders, freshLoadersAfterMutations } from "./loaders.js";
import type { Logger } from "./logger.js";
import type { Metrics } from "./metrics.js";
import { connectionArgsMiddleware } from "./pagination.js";
import { protectSchema } from "./permissions/index.js";
import { bodyLimitPlugin } from "./plugins/body-limit.js";
import { exposurePlugin } from "./plugins/exposure.js";
import { invitePage } from "./invite-page/index.js";
import { inputGuard } from "./plugins/input-guard.js";
import { invitationBudgets } from "./plugins/invitation-budgets.js";
import { DOCUMENT_ID_PARAM, persistedOperations, type PersistedDocuments, type PersistedOperationsMode } from "./plugins/persisted-operations.js";
import { queryCostPlugin } from "./plugins/query-cost.js";
import { queryLimitsPlugin } from "./plugins/query-limits.js";
import { requestInfo, requestLog } from "./plugins/request-log.js";
import { resolversStopAtDeadline, useExecutionDeadline } from "./plugins/deadline.js";
import { jitQueries } from "./plugins/jit.js";
import { clientAddress, type RateLimiter } from "./ratelimit.js";
import { schema } from "./schema/index.js";
import { createHub, type SubscriptionHub } from "./subscriptions/hub.js";

export interface ServerOptions {
  config: Pick<Config, "jwt" | "invitationTtlHours" | "nodeEnv" | "queryLimits" | "maxBodyBytes" | "exposure" | "requestTimeoutMs" | "email" | "subscriptions" | "trustProxy" | "webhooks"> & Partial<Pick<Config, "graphqlJit">>;
  logger: Logger;
  /** Whether start-up finished (migrations applied). /ready and /graphql answer 503 until then. */
  isReady: () => boolean;
  /**
   * Whether the server is shutting down: /ready then answers 503 (so load balancers stop sending). Refusing the
   * GraphQL requests that still arrive meanwhile is the drain's job, in front of this handler (src/shutdown.ts).
   */
  isStopping?: () => boolean;
  /** Overrides token verification (tests with their own keys). */
  verifyToken?: TokenVerifier;
  /** Counts GraphQL requests per client (see src/ratelimit.ts); none: no limits. */
  rateLimiter?: RateLimiter;
  /** Trusted documents (see src/plugins/persisted-operations.ts); none: every request sends its `query`. */
  persistedOperations?: { mode: PersistedOperationsMode; documents: PersistedDocuments };
  /** Prometheus metrics (see src/metrics.ts); none: not observed. */
  metrics?: Metrics;
  /**
   * Live events for subscriptions (src/subscriptions/hub.ts): src/main.ts makes one, over Redis with REDIS_URL, and
   * ends its streams at shutdown. None: this server makes its own, in memory.
   */
  subscriptions?: SubscriptionHub;
}

/**
 * The executable schema: Pothos' schema with the pagination checks and the shield rules applied, its object fields
 * stopping at the request's deadline.
 */
export const protectedSchema: GraphQLSchema = resolversStopAtDeadline(
  protectSchema(schema, connectionArgsMiddleware, invitationBudgets, freshLoadersAfterMutations(schema)),
);

export type Server = YogaServerInstance<Record<string, unknown>, Context>;

export function createServer(options: ServerOptions): Server {
  const { logger, isReady, rateLimiter, persistedOperations: persisted } = options;
  const isStopping = options.isStopping ?? (() => false);
  const verifyToken = options.verifyToken ?? createTokenVerifier(options.config.jwt);
  const settings = { invitationTtlHours: options.config.invitationTtlHours, webhookAllowPrivate: options.config.webhooks.allowPrivate };
  setDeliveryPlan({ email: options.config.email.mode });
  const subscriptions = options.subscriptions ?? createHub({ limits: options.config.subscriptions, logger });

  const yoga: Server = createYoga<Record<string, unknown>, Context>({
    schema: protectedSchema,
    graphqlEndpoint: "/graphql",
    healthCheckEndpoint: false as unknown as string,
    landingPage: false,
    graphiql: options.config.exposure.graphiql ? graphiqlOptions(options.config) : false,
    // MAX_BODY_BYTES is bodyLimitPlugin's (Yoga's check, without counting a body node has framed by Content-Length).
    maxRequestBodySize: false,
    renderGraphiQL: renderGraphiQLLazily,
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
    ...(persisted ? { extraParamNames: [DOCUMENT_ID_PARAM] } : {}),
    plugins: [
      // The request log comes first: its onRequest must run before a probe ends the request.
      requestLog(logger),
      probes(isReady, isStopping),
      // Development only: the page behind the default invitation link (in production /invite is 404).
      ...(options.config.nodeEnv === "production" ? [] : [invitePage({ config: options.config, logger, rateLimiter, graphql: () => yoga })]),
      requestErrorCodes(),
      inputGuard(),
      queryLimitsPlugin(options.config.queryLimits),
      queryCostPlugin(options.config.queryLimits.cost),
      exposurePlugin(options.config.exposure),
      ...(persisted ? [persistedOperations(persisted.mode, persisted.documents)] : []),
      ...(rateLimiter ? [rateLimiter.plugin] : []),
      ...(options.metrics?.plugins ?? []),
      // Before the deadline, which wraps whichever executor this chooses.
      ...(options.config.graphqlJit !== false ? [jitQueries()] : []),
      useExecutionDeadline(options.config.requestTimeoutMs),
      // Last: it wraps the request parser the plugins above have chosen.
      bodyLimitPlugin(options.config.maxBodyBytes),
    ],
    context: async (initial): Promise<Context> => {
      const { request } = initial;
      const info = requestInfo(request);
      if (!isReady()) throw new ServiceUnavailableError("The server is starting; retry shortly.");
      // The address's budgets come first: a flood of requests, or of guessed tokens, stops here, before a
      // signature is verified or a user row looked up.
      await rateLimiter?.checkAddress(request, initial);
      let viewer: Viewer;
      try {
        viewer = await viewerFrom(request.headers.get("authorization"), verifyToken);
      } catch (error) {
        if (error instanceof UnauthenticatedError) await rateLimiter?.badToken(request, initial);
        throw error;
      }
      if (viewer.kind === "user") info.viewerId = viewer.id;
      await rateLimiter?.check(request, initial, viewer);
      return {
        requestId: info.requestId,
        viewer,
        loaders: createLoaders(viewer),
        settings,
        budgets: rateLimiter?.budgets(request, initial),
        subscriptions,
        // Worked out only by the one field that needs it (a subscription's per-address bound), not for every request.
        clientAddress: () => clientAddress(request, initial, options.config.trustProxy),
      };
    },
    maskedErrors: {
      maskError: (error) => maskError(error, logger),
    },
  });
  return yoga;
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

/**
 * The offline GraphiQL page, its module loaded on the first page asked for: 9 MB of inline assets that neither a
 * start nor an API-only instance needs (loading it was a large part of the start-up time).
 */
async function renderGraphiQLLazily(options: GraphiQLOptions): Promise<string> {
  const { renderGraphiQL } = await import("@graphql-yoga/render-graphiql");
  return renderGraphiQL(options);
}

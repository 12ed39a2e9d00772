/**
 * Every environment variable the server reads, parsed once. Bad configuration is reported all at once, naming each
 * bad variable, and never echoes a secret's value.
 */
import { dirname, join } from "node:path";
import { z } from "zod";

const optionalString = z
  .string()
  .trim()
  .transform((value) => (value === "" ? undefined : value))
  .optional();

/**
 * A whole number in decimal digits; unset or empty means the default (an `.env` line like `PORT=` must not turn into
 * port 0, which Number("") would give).
 */
const intInRange = (fallback: number, min: number, max: number) =>
  optionalString
    .pipe(z.string().regex(/^\d+$/, "must be a whole number (digits only)").optional())
    .transform((value) => (value === undefined ? fallback : Number(value)))
    .pipe(z.number().min(min, `must be at least ${min}`).max(max, `must be at most ${max}`));

/** `true`/`false` (or `1`/`0`); unset or empty: undefined, so that the default can depend on NODE_ENV. */
const booleanFlag = optionalString.pipe(
  z
    .enum(["true", "false", "1", "0"], { error: "must be true or false" })
    .transform((value) => value === "true" || value === "1")
    .optional(),
);

/**
 * How long the server waits on PostgreSQL before answering SERVICE_UNAVAILABLE. Sized so that a database that refuses
 * connections or stops answering (a frozen host) costs a request under 3 s: one statement is cut off by the server
 * after `statementTimeoutMs`, and by the client a little later (`queryTimeoutMs`) when the server cannot even do
 * that; a connection (or a free slot in the pool) is waited for `connectTimeoutMs` at most.
 */
export const DATABASE_TIMEOUT_DEFAULTS = { connectTimeoutMs: 1_500, statementTimeoutMs: 2_000, queryTimeoutMs: 2_250 };
const QUERY_TIMEOUT_MARGIN_MS = DATABASE_TIMEOUT_DEFAULTS.queryTimeoutMs - DATABASE_TIMEOUT_DEFAULTS.statementTimeoutMs;

export const EnvSchema = z
  .object({
    NODE_ENV: z.enum(["development", "production", "test"]).default("development"),
    PORT: intInRange(4000, 0, 65535),
    HOST: optionalString,
    DATABASE_URL: optionalString.pipe(
      z
        .string()
        .regex(/^postgres(ql)?:\/\//, "must be a postgres:// or postgresql:// URL")
        .optional(),
    ),
    DATABASE_POOL_SIZE: intInRange(10, 1, 1000),
    DATABASE_PREPARED_STATEMENTS: booleanFlag,
    DATABASE_CONNECT_TIMEOUT_MS: intInRange(DATABASE_TIMEOUT_DEFAULTS.connectTimeoutMs, 100, 600_000),
    DATABASE_STATEMENT_TIMEOUT_MS: intInRange(DATABASE_TIMEOUT_DEFAULTS.statementTimeoutMs, 100, 600_000),
    DATABASE_QUERY_TIMEOUT_MS: optionalString.pipe(z.string().regex(/^\d+$/, "must be a whole number (digits only)").optional()),
    REQUEST_TIMEOUT_MS: intInRange(5_000, 100, 600_000),
    GRAPHQL_JIT: booleanFlag,
    PGLITE_DATA_DIR: optionalString.default(".data/pglite"),
    JWT_SECRET: optionalString.pipe(z.string().min(32, "must be at least 32 characters").optional()),
    JWT_JWKS_URL: optionalString.pipe(z.url({ protocol: /^https?$/, error: "must be an http(s) URL" }).optional()),
    JWT_ISSUER: optionalString,
    JWT_AUDIENCE: optionalString,
    INVITATION_TTL_HOURS: intInRange(7 * 24, 1, 30 * 24),
    LOG_LEVEL: z.enum(["debug", "info", "warn", "error", "silent"]).default("info"),
    SHUTDOWN_TIMEOUT_MS: intInRange(10_000, 0, 600_000),
    REDIS_URL: optionalString.pipe(z.url({ protocol: /^rediss?$/, error: "must be a redis:// or rediss:// URL" }).optional()),
    RATE_LIMIT_MAX: intInRange(600, 0, 1_000_000),
    RATE_LIMIT_WINDOW_MS: intInRange(60_000, 100, 86_400_000),
    RATE_LIMIT_ADDRESS_MAX: intInRange(3_000, 1, 10_000_000),
    RATE_LIMIT_BRUTE_FORCE_MAX: intInRange(20, 1, 1_000_000),
    RATE_LIMIT_BRUTE_FORCE_WINDOW_MS: intInRange(900_000, 100, 86_400_000),
    RATE_LIMIT_INVITATIONS_PER_USER: intInRange(100, 1, 1_000_000),
    RATE_LIMIT_INVITATIONS_PER_ORGANIZATION: intInRange(500, 1, 1_000_000),
    RATE_LIMIT_INVITATIONS_WINDOW_MS: intInRange(3_600_000, 100, 86_400_000),
    TRUST_PROXY: intInRange(0, 0, 10),
    PERSISTED_OPERATIONS: optionalString.pipe(z.enum(["off", "allow", "only"], { error: "must be off, allow or only" }).optional()),
    PERSISTED_OPERATIONS_FILE: optionalString,
    METRICS_PORT: optionalString.pipe(z.string().regex(/^\d+$/, "must be a whole number (digits only)").optional())
      .transform((value) => (value === undefined ? undefined : Number(value)))
      .pipe(z.number().min(1, "must be at least 1").max(65535, "must be at most 65535").optional()),
    METRICS_HOST: optionalString,
    GRAPHQL_MAX_DEPTH: intInRange(12, 1, 1000),
    GRAPHQL_MAX_ALIASES: intInRange(30, 0, 10_000),
    GRAPHQL_MAX_TOKENS: intInRange(3000, 1, 1_000_000),
    GRAPHQL_MAX_DIRECTIVES: intInRange(20, 0, 10_000),
    GRAPHQL_MAX_COST: intInRange(10_000, 1, 100_000_000),
    MAX_BODY_BYTES: intInRange(524_288, 1024, 100_000_000),
    GRAPHQL_INTROSPECTION: booleanFlag,
    GRAPHIQL: booleanFlag,
    SMTP_URL: optionalString.pipe(z.url({ protocol: /^smtps?$/, error: "must be an smtp:// or smtps:// URL" }).optional()),
    EMAIL_FROM: optionalString,
    INVITE_URL_TEMPLATE: optionalString.pipe(
      z.string().regex(/^https?:\/\/.*\{token\}/, "must be an http(s) URL containing {token}").optional(),
    ),
    OUTBOX_MAX_ATTEMPTS: intInRange(8, 1, 100),
    OUTBOX_BACKOFF_MS: intInRange(5_000, 10, 3_600_000),
    OUTBOX_POLL_MS: intInRange(2_000, 50, 600_000),
    OUTBOX_LEASE_MS: intInRange(60_000, 100, 3_600_000),
    SUBSCRIPTIONS_MAX_PER_USER: intInRange(20, 1, 100_000),
    SUBSCRIPTIONS_MAX_PER_ADDRESS: intInRange(200, 1, 1_000_000),
    WEBHOOK_ALLOW_PRIVATE: booleanFlag,
    WEBHOOK_TIMEOUT_MS: intInRange(10_000, 100, 120_000),
  })
  .superRefine((env, ctx) => {
    if (env.NODE_ENV === "production" && !env.JWT_SECRET && !env.JWT_JWKS_URL) {
      ctx.addIssue({
        code: "custom",
        path: ["JWT_SECRET"],
        message: "is required in production (or set JWT_JWKS_URL)",
      });
    }
    // An identity provider's key set signs tokens for every application of the tenant: without issuer and audience
    // checks, a token minted for another application would be accepted here.
    if (env.JWT_JWKS_URL && /^https?:\/\//.test(env.JWT_JWKS_URL)) {
      for (const name of ["JWT_ISSUER", "JWT_AUDIENCE"] as const) {
        if (!env[name]) ctx.addIssue({ code: "custom", path: [name], message: "is required with JWT_JWKS_URL" });
      }
    }
    if (env.PERSISTED_OPERATIONS && env.PERSISTED_OPERATIONS !== "off" && !env.PERSISTED_OPERATIONS_FILE) {
      ctx.addIssue({ code: "custom", path: ["PERSISTED_OPERATIONS_FILE"], message: `is required with PERSISTED_OPERATIONS=${env.PERSISTED_OPERATIONS}` });
    }
    // Metrics say which operations are called and how they fail: never on the port the clients reach.
    if (env.METRICS_PORT !== undefined && env.METRICS_PORT === env.PORT) {
      ctx.addIssue({ code: "custom", path: ["METRICS_PORT"], message: "must differ from PORT (metrics are never served on the public port)" });
    }
    // Past the statement timeout the server cancels the statement and the connection stays usable; past the client's
    // query timeout the connection is thrown away. The cheap, clean one must come first.
    if (env.DATABASE_QUERY_TIMEOUT_MS !== undefined && Number(env.DATABASE_QUERY_TIMEOUT_MS) <= env.DATABASE_STATEMENT_TIMEOUT_MS) {
      ctx.addIssue({ code: "custom", path: ["DATABASE_QUERY_TIMEOUT_MS"], message: "must be greater than DATABASE_STATEMENT_TIMEOUT_MS" });
    }
    // Email is one feature: either off, or on with everything it needs.
    if (env.SMTP_URL && !env.EMAIL_FROM) ctx.addIssue({ code: "custom", path: ["EMAIL_FROM"], message: "is required with SMTP_URL" });
    if (env.SMTP_URL && env.NODE_ENV === "production" && !env.INVITE_URL_TEMPLATE) {
      ctx.addIssue({ code: "custom", path: ["INVITE_URL_TEMPLATE"], message: "is required in production with SMTP_URL" });
    }
  });

export type Env = z.input<typeof EnvSchema>;

export interface Config {
  nodeEnv: "development" | "production" | "test";
  port: number;
  host: string;
  database:
    | { kind: "postgres"; url: string; poolSize: number; timeouts: DatabaseTimeouts; preparedStatements: boolean }
    | { kind: "pglite"; dataDir: string };
  /** Execution deadline of a query or mutation (subscriptions are exempt); past it: SERVICE_UNAVAILABLE. */
  requestTimeoutMs: number;
  /** Queries asked for more than once run compiled by graphql-jit (src/plugins/jit.ts). */
  graphqlJit: boolean;
  jwt: {
    /**
     * HS256 secret. Unset with JWKS, and in development without JWT_SECRET: then the secret is the random one kept in
     * `devSecretFile` (see src/auth/dev-secret.ts), read at start-up.
     */
    secret?: string;
    jwksUrl?: string;
    issuer?: string;
    audience?: string;
    /** True when the server uses the generated development secret (neither JWT_SECRET nor JWT_JWKS_URL). */
    usingDevSecret: boolean;
    /** Where the development secret is kept: beside the PGlite data directory, else `.data/dev-jwt-secret`. */
    devSecretFile?: string;
  };
  invitationTtlHours: number;
  logLevel: "debug" | "info" | "warn" | "error" | "silent";
  shutdownTimeoutMs: number;
  /** Shared state for several instances (rate-limit counters); unset: each instance keeps its own in memory. */
  redisUrl?: string;
  /** Requests per window per client; max 0 turns rate limiting off, and every abuse budget below with it. */
  rateLimit: { max: number; windowMs: number };
  /** Budgets against abuse, all per window of their own (see src/ratelimit.ts). */
  abuse: {
    /** Requests per client address, counted before any token is verified (one address may hold many users). */
    addressMax: number;
    /** Bad tokens and unknown invitation tokens per client address. */
    bruteForce: { max: number; windowMs: number };
    /** createInvitation and resendInvitation per user and per organization. */
    invitations: { perUser: number; perOrganization: number; windowMs: number };
  };
  /**
   * How many reverse proxies in front of the server append to X-Forwarded-For; 0 ignores the header (a client
   * could write anything in it) and uses the connection's address.
   */
  trustProxy: number;
  /**
   * Trusted documents (GraphQL Code Generator's persisted-documents manifest): `allow` runs manifest ids and any
   * document, `only` refuses documents not in the manifest. The file is read at start-up (src/main.ts).
   */
  persistedOperations: { mode: "off" } | { mode: "allow" | "only"; file: string };
  /** Prometheus metrics on their own port; undefined: off. The host defaults to HOST. */
  metrics?: { port: number; host: string };
  /**
   * Invitation emails. `smtp`: sent through `smtpUrl`. `log`: development without SMTP_URL, the link is logged.
   * `off`: production without SMTP_URL, nothing is sent (deliveries read DISABLED). `inviteUrlTemplate` has `{token}`;
   * unset in development, the server's own /invite page on its port.
   */
  email: { mode: "smtp"; smtpUrl: string; from: string; inviteUrlTemplate?: string } | { mode: "log"; inviteUrlTemplate?: string } | { mode: "off" };
  /**
   * The outbox worker: attempts before FAILED, first retry delay (doubling, with jitter), polling interval, and how
   * long a claim lasts before another worker may take the delivery over (a worker that died mid-send).
   */
  outbox: { maxAttempts: number; backoffMs: number; pollMs: number; leaseMs: number };
  /** Open subscription streams allowed per user and per client address, counted by each instance. */
  subscriptions: { maxPerUser: number; maxPerAddress: number };
  /**
   * Webhook deliveries. `allowPrivate`: endpoints may use http and private, loopback or link-local addresses (tests,
   * development); otherwise https to public addresses only, checked when created and again on every delivery.
   * `timeoutMs`: a delivery that has no 2xx answer within it failed.
   */
  webhooks: { allowPrivate: boolean; timeoutMs: number };
  /** Limits checked on every GraphQL document before it runs (see src/plugins/query-limits.ts). */
  queryLimits: QueryLimits;
  /** Request bodies above this many bytes are refused with 413 before they are parsed. */
  maxBodyBytes: number;
  /**
   * What the server shows about its schema. Production: no introspection, no GraphiQL, no "Did you mean …"
   * suggestions, unless GRAPHQL_INTROSPECTION / GRAPHIQL turn the first two back on.
   */
  exposure: { introspection: boolean; graphiql: boolean; suggestions: boolean };
}

export interface QueryLimits {
  depth: number;
  aliases: number;
  tokens: number;
  directives: number;
  cost: number;
}

/** PostgreSQL only: PGlite runs each statement on the event loop and can cancel none. */
export interface DatabaseTimeouts {
  /** Waiting for a pooled connection, or for a new one to open (pg's connectionTimeoutMillis). */
  connectTimeoutMs: number;
  /** PostgreSQL's statement_timeout: the server cancels the statement; the connection stays healthy. */
  statementTimeoutMs: number;
  /**
   * The client's own limit (pg's query_timeout), for a server that cannot answer at all; the connection is discarded.
   * Unset: the statement timeout plus 250 ms.
   */
  queryTimeoutMs: number;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

/** Parses the environment (process.env by default). Throws ConfigError listing every bad variable. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join(".") || "environment"}: ${issue.message}`);
    throw new ConfigError(problems);
  }
  const e = parsed.data;
  const usingDevSecret = !e.JWT_SECRET && !e.JWT_JWKS_URL;
  return {
    nodeEnv: e.NODE_ENV,
    port: e.PORT,
    // Outside production a server reachable only from this machine is the safe default: a developer's laptop on a
    // shared network should not offer its API (and its development tokens) to the room.
    host: e.HOST ?? (e.NODE_ENV === "production" ? "0.0.0.0" : "127.0.0.1"),
    database: e.DATABASE_URL
      ? {
          kind: "postgres",
          url: e.DATABASE_URL,
          poolSize: e.DATABASE_POOL_SIZE,
          preparedStatements: e.DATABASE_PREPARED_STATEMENTS ?? true,
          timeouts: {
            connectTimeoutMs: e.DATABASE_CONNECT_TIMEOUT_MS,
            statementTimeoutMs: e.DATABASE_STATEMENT_TIMEOUT_MS,
            queryTimeoutMs:
              e.DATABASE_QUERY_TIMEOUT_MS === undefined ? e.DATABASE_STATEMENT_TIMEOUT_MS + QUERY_TIMEOUT_MARGIN_MS : Number(e.DATABASE_QUERY_TIMEOUT_MS),
          },
        }
      : { kind: "pglite", dataDir: e.PGLITE_DATA_DIR },
    requestTimeoutMs: e.REQUEST_TIMEOUT_MS,
    graphqlJit: e.GRAPHQL_JIT ?? true,
    jwt: {
      secret: e.JWT_SECRET,
      jwksUrl: e.JWT_JWKS_URL,
      issuer: e.JWT_ISSUER,
      audience: e.JWT_AUDIENCE,
      usingDevSecret,
      devSecretFile: usingDevSecret ? devSecretPath(e.DATABASE_URL ? undefined : e.PGLITE_DATA_DIR) : undefined,
    },
    invitationTtlHours: e.INVITATION_TTL_HOURS,
    logLevel: e.LOG_LEVEL,
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
    redisUrl: e.REDIS_URL,
    rateLimit: { max: e.RATE_LIMIT_MAX, windowMs: e.RATE_LIMIT_WINDOW_MS },
    abuse: {
      addressMax: e.RATE_LIMIT_ADDRESS_MAX,
      bruteForce: { max: e.RATE_LIMIT_BRUTE_FORCE_MAX, windowMs: e.RATE_LIMIT_BRUTE_FORCE_WINDOW_MS },
      invitations: {
        perUser: e.RATE_LIMIT_INVITATIONS_PER_USER,
        perOrganization: e.RATE_LIMIT_INVITATIONS_PER_ORGANIZATION,
        windowMs: e.RATE_LIMIT_INVITATIONS_WINDOW_MS,
      },
    },
    trustProxy: e.TRUST_PROXY,
    persistedOperations:
      e.PERSISTED_OPERATIONS && e.PERSISTED_OPERATIONS !== "off" && e.PERSISTED_OPERATIONS_FILE
        ? { mode: e.PERSISTED_OPERATIONS, file: e.PERSISTED_OPERATIONS_FILE }
        : { mode: "off" },
    metrics: e.METRICS_PORT === undefined ? undefined : { port: e.METRICS_PORT, host: e.METRICS_HOST ?? e.HOST ?? (e.NODE_ENV === "production" ? "0.0.0.0" : "127.0.0.1") },
    queryLimits: {
      depth: e.GRAPHQL_MAX_DEPTH,
      aliases: e.GRAPHQL_MAX_ALIASES,
      tokens: e.GRAPHQL_MAX_TOKENS,
      directives: e.GRAPHQL_MAX_DIRECTIVES,
      cost: e.GRAPHQL_MAX_COST,
    },
    maxBodyBytes: e.MAX_BODY_BYTES,
    exposure: {
      introspection: e.GRAPHQL_INTROSPECTION ?? e.NODE_ENV !== "production",
      graphiql: e.GRAPHIQL ?? e.NODE_ENV !== "production",
      suggestions: e.NODE_ENV !== "production",
    },
    email:
      e.SMTP_URL && e.EMAIL_FROM
        ? { mode: "smtp", smtpUrl: e.SMTP_URL, from: e.EMAIL_FROM, inviteUrlTemplate: e.INVITE_URL_TEMPLATE }
        : e.NODE_ENV === "production"
          ? { mode: "off" }
          : { mode: "log", inviteUrlTemplate: e.INVITE_URL_TEMPLATE },
    outbox: { maxAttempts: e.OUTBOX_MAX_ATTEMPTS, backoffMs: e.OUTBOX_BACKOFF_MS, pollMs: e.OUTBOX_POLL_MS, leaseMs: e.OUTBOX_LEASE_MS },
    subscriptions: { maxPerUser: e.SUBSCRIPTIONS_MAX_PER_USER, maxPerAddress: e.SUBSCRIPTIONS_MAX_PER_ADDRESS },
    webhooks: { allowPrivate: e.WEBHOOK_ALLOW_PRIVATE ?? false, timeoutMs: e.WEBHOOK_TIMEOUT_MS },
  };
}

/** `<parent of the PGlite directory>/dev-jwt-secret`, or `.data/dev-jwt-secret` when the data is not in a directory. */
function devSecretPath(pgliteDataDir: string | undefined): string {
  if (!pgliteDataDir || /^[a-z]+:\/\//i.test(pgliteDataDir)) return join(".data", "dev-jwt-secret");
  return join(dirname(pgliteDataDir), "dev-jwt-secret");
}

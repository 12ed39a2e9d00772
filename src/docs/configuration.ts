/**
 * The configuration reference (docs/configuration.md), generated from the zod schema in src/config.ts: the variable
 * names and defaults come from the schema itself, so the page cannot list a variable the server does not read or
 * miss one it does. The descriptions live here, next to the generator, rather than on the schema's lines, so that a
 * variable added to the schema only needs one line here (test/docs.test.ts fails until it has one).
 */
import { EnvSchema } from "../config.js";

/** What each variable means; `default` overrides the default read from the schema when it depends on something else. */
export const DESCRIPTIONS: Record<string, { group: string; text: string; default?: string }> = {
  NODE_ENV: { group: "Server", text: "`development`, `production` or `test`. `production` requires `JWT_SECRET` or `JWT_JWKS_URL`, hides field suggestions in errors, and turns introspection and GraphiQL off by default." },
  PORT: { group: "Server", text: "The public HTTP port (`/graphql`, `/health`, `/ready`). `0` picks a free port." },
  HOST: { group: "Server", text: "The interface to listen on.", default: "`127.0.0.1` (development), `0.0.0.0` (production)" },
  SHUTDOWN_TIMEOUT_MS: { group: "Server", text: "How long `SIGTERM`/`SIGINT` wait for in-flight requests before closing connections (0 to 600,000)." },
  LOG_LEVEL: { group: "Server", text: "`debug`, `info`, `warn`, `error` or `silent`. JSON lines on stderr; one line per request at `info`." },
  DATABASE_URL: { group: "Database", text: "A `postgres://` or `postgresql://` URL. Unset: the embedded PGlite database in `PGLITE_DATA_DIR`." },
  DATABASE_POOL_SIZE: { group: "Database", text: "PostgreSQL connections per instance (1 to 1,000)." },
  DATABASE_PREPARED_STATEMENTS: {
    group: "Database",
    text: "`true` or `false`. PostgreSQL: the hot reads (lists, look-ups, the viewer's permissions) run as named prepared statements, planned once per connection instead of at every request. `false` for a connection pooler that cannot keep prepared statements across transactions (PgBouncer before 1.21 in transaction mode).",
    default: "`true`",
  },
  PGLITE_DATA_DIR: { group: "Database", text: "The PGlite data folder when `DATABASE_URL` is unset; `memory://` keeps the data in memory." },
  DATABASE_CONNECT_TIMEOUT_MS: { group: "Database", text: "PostgreSQL: the longest wait for a pooled connection or a new one." },
  DATABASE_STATEMENT_TIMEOUT_MS: { group: "Database", text: "PostgreSQL `statement_timeout`: the server cancels a longer statement; the request answers `SERVICE_UNAVAILABLE`." },
  DATABASE_QUERY_TIMEOUT_MS: {
    group: "Database",
    text: "PostgreSQL: the client gives up on a statement with no answer (a frozen host) and discards its connection; must exceed the statement timeout.",
    default: "the statement timeout + 250",
  },
  GRAPHQL_JIT: {
    group: "Server",
    text: "`true` or `false`. A query document asked for a second time is compiled by graphql-jit and runs without the standard executor's per-field work (a fifth of the CPU of a page of 50); mutations, subscriptions and first runs use the standard executor. `false` runs every operation on the standard executor.",
    default: "`true`",
  },
  REQUEST_TIMEOUT_MS: { group: "Server", text: "Execution deadline of a query or mutation (subscriptions exempt); past it the request answers `SERVICE_UNAVAILABLE`." },
  RATE_LIMIT_ADDRESS_MAX: { group: "Rate limits", text: "Requests with a token per client address per window, counted before the token is verified." },
  RATE_LIMIT_BRUTE_FORCE_MAX: { group: "Rate limits", text: "Refused tokens and unknown invitation tokens per client address per brute-force window." },
  RATE_LIMIT_BRUTE_FORCE_WINDOW_MS: { group: "Rate limits", text: "Length of the brute-force window in milliseconds." },
  RATE_LIMIT_INVITATIONS_PER_USER: { group: "Rate limits", text: "Invitations a user may create or resend per invitations window." },
  RATE_LIMIT_INVITATIONS_PER_ORGANIZATION: { group: "Rate limits", text: "Invitations created or resent per organization per invitations window." },
  RATE_LIMIT_INVITATIONS_WINDOW_MS: { group: "Rate limits", text: "Length of the invitations window in milliseconds." },
  JWT_SECRET: {
    group: "Authentication",
    text:
      "HS256 secret, at least 32 characters. In development without it (and without `JWT_JWKS_URL`) the server generates a random secret on first start and keeps it in `dev-jwt-secret` beside the PGlite data folder (else `.data/dev-jwt-secret`), where `npm run token` reads it.",
    default: "unset (outside production: a generated development secret)",
  },
  JWT_JWKS_URL: { group: "Authentication", text: "An http(s) URL of a JSON Web Key Set: RS256/ES256 tokens from an identity provider. Takes precedence over `JWT_SECRET`." },
  JWT_ISSUER: { group: "Authentication", text: "The expected `iss` claim; checked when set, required with `JWT_JWKS_URL`." },
  JWT_AUDIENCE: { group: "Authentication", text: "The expected `aud` claim; checked when set, required with `JWT_JWKS_URL`." },
  INVITATION_TTL_HOURS: { group: "Invitations", text: "Default lifetime of an invitation, in hours (1 to 720)." },
  REDIS_URL: {
    group: "Rate limits",
    text: "A `redis://` or `rediss://` URL: rate-limit counters shared by every instance, and subscription events published through Redis pub/sub so that subscribers on every instance hear of every change. Unset: each instance counts, and publishes, in its own memory.",
  },
  RATE_LIMIT_MAX: { group: "Rate limits", text: "GraphQL requests per window per client (user, or address when anonymous). `0` turns every rate limit off." },
  RATE_LIMIT_WINDOW_MS: { group: "Rate limits", text: "Length of the rate-limit window in milliseconds (100 to 86,400,000)." },
  TRUST_PROXY: { group: "Rate limits", text: "How many reverse proxies in front append to `X-Forwarded-For` (0 to 10). `0` ignores the header and uses the connection's address." },
  PERSISTED_OPERATIONS: { group: "Trusted documents", text: "`off`, `allow` (manifest ids and any document) or `only` (manifest ids only)." },
  PERSISTED_OPERATIONS_FILE: { group: "Trusted documents", text: "The persisted-documents manifest (`{\"sha256:<hash>\": \"<document>\"}`); required unless `PERSISTED_OPERATIONS=off`." },
  SMTP_URL: { group: "Email", text: "`smtp://` or `smtps://` mail server for invitation emails, user and password in the URL. Unset: development logs the invitation link; production sends nothing (deliveries read `DISABLED`)." },
  EMAIL_FROM: { group: "Email", text: "The sender of invitation emails, e.g. `Acme <invitations@example.com>`. Required with `SMTP_URL`." },
  INVITE_URL_TEMPLATE: {
    group: "Email",
    text: "The link in the email, an http(s) URL with `{token}` replaced by the invitation token. Required in production with `SMTP_URL`.",
    default: "development: `http://localhost:<PORT>/invite?token={token}`",
  },
  OUTBOX_MAX_ATTEMPTS: { group: "Email", text: "Attempts at a delivery before it is `FAILED` (1 to 100)." },
  OUTBOX_BACKOFF_MS: { group: "Email", text: "The first retry's delay; each next one doubles, with jitter, up to an hour." },
  OUTBOX_POLL_MS: { group: "Email", text: "How often each instance's outbox worker looks for deliveries other instances wrote (it is woken at once for its own)." },
  OUTBOX_LEASE_MS: { group: "Email", text: "How long a worker's claim on a delivery lasts; an instance that dies mid-send holds it until then, and another instance takes it over after." },
  SUBSCRIPTIONS_MAX_PER_USER: { group: "Subscriptions", text: "Open subscription streams one user may hold on one instance (1 to 100,000). One more: `RATE_LIMITED`." },
  SUBSCRIPTIONS_MAX_PER_ADDRESS: { group: "Subscriptions", text: "Open subscription streams from one client address (see `TRUST_PROXY`) on one instance (1 to 1,000,000). One more: `RATE_LIMITED`." },
  WEBHOOK_ALLOW_PRIVATE: {
    group: "Webhooks",
    text: "`true` lets webhook endpoints use `http` and private, loopback, link-local, unique-local, CGNAT and other non-public addresses (local receivers in development and tests). Otherwise endpoints must be `https` on public addresses, checked at creation and again, after a fresh DNS lookup, on every delivery.",
    default: "`false`",
  },
  WEBHOOK_TIMEOUT_MS: { group: "Webhooks", text: "How long a webhook delivery waits for a 2xx answer before it counts as failed and is retried (100 to 120,000)." },
  METRICS_PORT: { group: "Metrics", text: "Serve Prometheus metrics on `GET /metrics` of this port, a separate server (must differ from `PORT`). Unset: no metrics." },
  METRICS_HOST: { group: "Metrics", text: "The interface the metrics port listens on.", default: "the value of `HOST`" },
  GRAPHQL_MAX_DEPTH: { group: "Limits", text: "The longest chain of fields in a document, the root field counting 1 and leaves included, fragments inlined (1 to 1,000). Past it: `GRAPHQL_VALIDATION_FAILED`/`MAX_DEPTH`." },
  GRAPHQL_MAX_ALIASES: { group: "Limits", text: "Aliases in an operation, with the fragments it spreads (0 to 10,000). Past it: `MAX_ALIASES`." },
  GRAPHQL_MAX_TOKENS: { group: "Limits", text: "Lexical tokens in a document, comments excluded (1 to 1,000,000). Past it: `GRAPHQL_PARSE_FAILED`/`MAX_TOKENS`." },
  GRAPHQL_MAX_DIRECTIVES: { group: "Limits", text: "Directives in an operation, with the fragments it spreads (0 to 10,000). Past it: `MAX_DIRECTIVES`." },
  GRAPHQL_MAX_COST: { group: "Limits", text: "Objects an operation may load: each object field costs 1 times the sizes (`first`/`last`, else 20) of the connections and lists around it (1 to 100,000,000). Past it: `MAX_COST`." },
  MAX_BODY_BYTES: { group: "Limits", text: "Largest request body in bytes, announced or chunked (1,024 to 100,000,000). Larger: HTTP 413, `BAD_REQUEST`, before parsing." },
  GRAPHQL_INTROSPECTION: { group: "Limits", text: "`true` or `false`: answer `__schema` and `__type` queries.", default: "`true`, `false` in production" },
  GRAPHIQL: { group: "Limits", text: "`true` or `false`: serve the GraphiQL page on `GET /graphql` to browsers.", default: "`true`, `false` in production" },
};

/** Every variable src/config.ts parses, in the schema's order. */
export function configVariables(): string[] {
  return Object.keys(EnvSchema.shape);
}

function defaultOf(name: string): string {
  const documented = DESCRIPTIONS[name]?.default;
  if (documented) return documented;
  const field = (EnvSchema.shape as Record<string, { safeParse(value: unknown): { success: boolean; data?: unknown } }>)[name]!;
  const parsed = field.safeParse(undefined);
  if (!parsed.success || parsed.data === undefined) return "unset";
  return `\`${String(parsed.data)}\``;
}

const escapeCell = (text: string) => text.replace(/\|/g, "\\|").replace(/\n/g, " ");

/** The Markdown page. */
export function configurationMarkdown(): string {
  const groups = new Map<string, string[]>();
  for (const name of configVariables()) {
    const group = DESCRIPTIONS[name]?.group ?? "Undocumented";
    groups.set(group, [...(groups.get(group) ?? []), name]);
  }
  const sections = [...groups].map(([group, names]) => {
    const rows = names.map((name) => {
      const text = DESCRIPTIONS[name]?.text ?? "Undocumented: add a description in src/docs/configuration.ts.";
      return `| \`${name}\` | ${escapeCell(defaultOf(name))} | ${escapeCell(text)} |`;
    });
    return `## ${group}\n\n| variable | default | meaning |\n|---|---|---|\n${rows.join("\n")}\n`;
  });
  return [
    "# Configuration reference",
    "",
    "<!-- Generated from src/config.ts by `npm run docs:config`; do not edit by hand. -->",
    "",
    "Every environment variable the server reads, parsed once at start-up by `src/config.ts`. An empty value counts",
    "as unset. Bad configuration stops the start (exit code 78) naming every bad variable, never echoing a secret.",
    "See [operations.md](operations.md) for a production checklist.",
    "",
    ...sections.flatMap((section) => [section]),
  ].join("\n");
}

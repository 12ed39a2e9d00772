/**
 * The test kit: a real server (Yoga's fetch handler, no port) on this file's own database, and helpers to sign in
 * as fresh users and run GraphQL. Each test creates its own users and organizations; nothing is truncated.
 */
import { randomBytes } from "node:crypto";
import pg from "pg";
import { inject } from "vitest";
import { migrate } from "../../src/db/migrate.js";
import { createPostgresDatabase, pgSession } from "./databases.js";
import { signDevToken } from "../../src/auth/token.js";
import { loadConfig } from "../../src/config.js";
import { openDatabase, type Database } from "../../src/db/client.js";
import { onQuery } from "../../src/db/query-log.js";
import { createLogger, type Logger } from "../../src/logger.js";
import type { Metrics } from "../../src/metrics.js";
import type { RateLimiter } from "../../src/ratelimit.js";
import { createServer, type Server } from "../../src/server.js";
import type { SubscriptionHub } from "../../src/subscriptions/hub.js";

export const TEST_SECRET = "test-secret-0123456789-0123456789-0123456789";

export interface GraphQLResponse<T = any> {
  data?: T | null;
  errors?: Array<{ message: string; path?: (string | number)[]; extensions?: Record<string, any> }>;
}

export interface TestUser {
  sub: string;
  email: string;
  name: string;
  token: string;
}

export interface TestApp {
  server: Server;
  db: Database;
  dbKind: "pglite" | "postgres";
  /** POSTs a GraphQL request; `token` null sends no Authorization header. */
  gql<T = any>(query: string, variables?: Record<string, unknown>, token?: string | null): Promise<GraphQLResponse<T>>;
  /** Like gql, but fails the test on any error. */
  ok<T = any>(query: string, variables?: Record<string, unknown>, token?: string | null): Promise<T>;
  fetch(path: string, init?: RequestInit): Promise<Response>;
  /** A new user with a unique email; the row is created on their first request. */
  user(options?: { name?: string; email?: string; emailVerified?: boolean; sub?: string }): Promise<TestUser>;
  /** Counts the SQL statements `fn` sends. */
  countQueries(fn: () => Promise<unknown>): Promise<{ count: number; statements: string[] }>;
  close(): Promise<void>;
}

export function uniqueEmail(prefix = "user"): string {
  return `${prefix}-${randomBytes(5).toString("hex")}@example.test`;
}

/**
 * `rateLimiter`: none by default, so that no test but the rate-limit tests ever meets a limit. `logger`: silent by
 * default (TEST_LOG_LEVEL shows the lines). `env`: more environment for loadConfig (NODE_ENV=production, …).
 */
export async function startApp(
  options: {
    invitationTtlHours?: number;
    rateLimiter?: RateLimiter;
    logger?: Logger;
    metrics?: Metrics;
    env?: Record<string, string>;
    /**
     * PostgreSQL: a database of this file's own instead of the run's shared one, for tests of work that spans the
     * whole database (the outbox worker claims every due delivery, whichever file wrote it).
     */
    ownDatabase?: boolean;
    /** The subscriptions' hub (src/subscriptions/hub.ts), for tests that watch or bound the open streams. */
    subscriptions?: SubscriptionHub;
  } = {},
): Promise<TestApp> {
  const dbKind = (process.env.TEST_DB as "pglite" | "postgres" | undefined) ?? "pglite";
  const own = dbKind === "postgres" && options.ownDatabase ? await createPostgresDatabase("invitations_own") : undefined;
  if (own) {
    const client = new pg.Client({ connectionString: own.url });
    await client.connect();
    try {
      await migrate(pgSession(client));
    } finally {
      await client.end();
    }
  }
  const db =
    dbKind === "postgres"
      ? await openDatabase({ kind: "postgres", url: own?.url ?? inject("postgresUrl"), poolSize: 20 })
      : await openDatabase(
          { kind: "pglite", dataDir: "memory://" },
          { loadDataDir: new Blob([await import("node:fs/promises").then((fs) => fs.readFile(inject("pgliteSnapshot")))]) },
        );
  const config = loadConfig({
    NODE_ENV: "test",
    JWT_SECRET: TEST_SECRET,
    INVITATION_TTL_HOURS: String(options.invitationTtlHours ?? 168),
    ...options.env,
  });
  const server = createServer({ config, logger: options.logger ?? createLogger((process.env.TEST_LOG_LEVEL as "error" | undefined) ?? "silent"), isReady: () => true, rateLimiter: options.rateLimiter, metrics: options.metrics, subscriptions: options.subscriptions });

  const fetchPath = (path: string, init?: RequestInit) => Promise.resolve(server.fetch(`http://localhost${path}`, init ?? {}));

  const gql = async (query: string, variables?: Record<string, unknown>, token?: string | null) => {
    const headers: Record<string, string> = { "content-type": "application/json", accept: "application/graphql-response+json" };
    if (token) headers.authorization = `Bearer ${token}`;
    const response = await fetchPath("/graphql", { method: "POST", headers, body: JSON.stringify({ query, variables }) });
    return (await response.json()) as GraphQLResponse;
  };

  return {
    server,
    db,
    dbKind,
    gql,
    async ok(query, variables, token) {
      const result = await gql(query, variables, token);
      if (result.errors?.length) throw new Error(`GraphQL errors: ${JSON.stringify(result.errors, null, 2)}`);
      return result.data as never;
    },
    fetch: fetchPath,
    async user({ name, email, emailVerified, sub } = {}) {
      const address = email ?? uniqueEmail(name?.toLowerCase().replace(/\W+/g, "") || "user");
      const userSub = sub ?? `test|${randomBytes(8).toString("hex")}`;
      const displayName = name ?? "Test User";
      const token = await signDevToken(TEST_SECRET, {
        sub: userSub,
        email: address,
        name: displayName,
        ...(emailVerified === undefined ? {} : { email_verified: emailVerified }),
      });
      return { sub: userSub, email: address.trim().toLowerCase(), name: displayName, token };
    },
    async countQueries(fn) {
      const statements: string[] = [];
      const stop = onQuery((sql) => statements.push(sql));
      try {
        await fn();
      } finally {
        stop();
      }
      return { count: statements.length, statements };
    },
    close: async () => {
      await db.close();
      await own?.drop();
    },
  };
}

/** The first error's code and reason, for compact assertions. */
export function errorOf(result: GraphQLResponse): { code?: string; reason?: string; field?: string } {
  const e = result.errors?.[0]?.extensions ?? {};
  return { code: e.code, reason: e.reason, field: e.field };
}

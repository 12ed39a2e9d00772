/**
 * Configuration: defaults, every problem reported at once by variable name, the production rule, and no secret
 * ever repeated back in a message.
 */
import { readFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../src/config.js";

const SECRET = "a-real-secret-of-more-than-32-characters-42";

function problemsOf(env: Record<string, string | undefined>): string[] {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems;
  }
  throw new Error("expected a ConfigError");
}

describe("loadConfig", () => {
  it("gives the documented defaults for an empty environment", () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      nodeEnv: "development",
      port: 4000,
      host: "127.0.0.1",
      database: { kind: "pglite", dataDir: ".data/pglite" },
      invitationTtlHours: 168,
      logLevel: "info",
      redisUrl: undefined,
      rateLimit: { max: 600, windowMs: 60_000 },
      trustProxy: 0,
    });
    // Development uses a secret generated at start-up and kept beside the data: none is written in the source.
    expect(config.jwt.usingDevSecret).toBe(true);
    expect(config.jwt.secret).toBeUndefined();
    expect(config.jwt.devSecretFile).toBe(".data/dev-jwt-secret");
    expect(config.jwt.jwksUrl).toBeUndefined();
  });

  it("treats empty and blank variables as unset", () => {
    const config = loadConfig({ PORT: "", HOST: " ", INVITATION_TTL_HOURS: "", DATABASE_URL: "", JWT_SECRET: "  ", PGLITE_DATA_DIR: "" });
    expect(config.port).toBe(4000);
    expect(config.host).toBe("127.0.0.1");
    expect(config.invitationTtlHours).toBe(168);
    expect(config.database).toEqual({ kind: "pglite", dataDir: ".data/pglite" });
    expect(config.jwt.usingDevSecret).toBe(true);
  });

  it("reads every variable", () => {
    const config = loadConfig({
      NODE_ENV: "production",
      PORT: " 8080 ",
      HOST: "127.0.0.1",
      DATABASE_URL: "postgresql://app:pw@db.internal:5432/invitations",
      DATABASE_POOL_SIZE: "25",
      DATABASE_PREPARED_STATEMENTS: "false",
      DATABASE_CONNECT_TIMEOUT_MS: "1000",
      DATABASE_STATEMENT_TIMEOUT_MS: "4000",
      DATABASE_QUERY_TIMEOUT_MS: "5000",
      REQUEST_TIMEOUT_MS: "8000",
      GRAPHQL_JIT: "false",
      JWT_SECRET: SECRET,
      JWT_ISSUER: "https://issuer.example.com/",
      JWT_AUDIENCE: "invitations-api",
      INVITATION_TTL_HOURS: "48",
      LOG_LEVEL: "warn",
      SHUTDOWN_TIMEOUT_MS: "2500",
      REDIS_URL: "redis://:pw@cache.internal:6379/2",
      RATE_LIMIT_MAX: "120",
      RATE_LIMIT_WINDOW_MS: "10000",
      TRUST_PROXY: "1",
      METRICS_PORT: "9464",
      GRAPHQL_MAX_DEPTH: "10",
      GRAPHQL_MAX_ALIASES: "20",
      GRAPHQL_MAX_TOKENS: "2000",
      GRAPHQL_MAX_DIRECTIVES: "10",
      GRAPHQL_MAX_COST: "5000",
      MAX_BODY_BYTES: "100000",
      GRAPHQL_INTROSPECTION: "true",
      GRAPHIQL: "false",
      SMTP_URL: "smtps://mailer:pw@smtp.example.com:465",
      EMAIL_FROM: "Acme <invitations@example.com>",
      INVITE_URL_TEMPLATE: "https://app.example.com/invite?token={token}",
      OUTBOX_MAX_ATTEMPTS: "5",
      OUTBOX_BACKOFF_MS: "1000",
      OUTBOX_POLL_MS: "500",
      OUTBOX_LEASE_MS: "1500",
      SUBSCRIPTIONS_MAX_PER_USER: "7",
      SUBSCRIPTIONS_MAX_PER_ADDRESS: "70",
      WEBHOOK_ALLOW_PRIVATE: "true",
      WEBHOOK_TIMEOUT_MS: "2500",
    });
    expect(config).toEqual({
      nodeEnv: "production",
      port: 8080,
      host: "127.0.0.1",
      database: {
        kind: "postgres",
        url: "postgresql://app:pw@db.internal:5432/invitations",
        poolSize: 25,
        preparedStatements: false,
        timeouts: { connectTimeoutMs: 1000, statementTimeoutMs: 4000, queryTimeoutMs: 5000 },
      },
      requestTimeoutMs: 8000,
      graphqlJit: false,
      jwt: { secret: SECRET, jwksUrl: undefined, issuer: "https://issuer.example.com/", audience: "invitations-api", usingDevSecret: false },
      invitationTtlHours: 48,
      logLevel: "warn",
      shutdownTimeoutMs: 2500,
      redisUrl: "redis://:pw@cache.internal:6379/2",
      rateLimit: { max: 120, windowMs: 10_000 },
      abuse: {
        addressMax: 3_000,
        bruteForce: { max: 20, windowMs: 900_000 },
        invitations: { perUser: 100, perOrganization: 500, windowMs: 3_600_000 },
      },
      trustProxy: 1,
      persistedOperations: { mode: "off" },
      metrics: { port: 9464, host: "127.0.0.1" },
      queryLimits: { depth: 10, aliases: 20, tokens: 2000, directives: 10, cost: 5000 },
      maxBodyBytes: 100_000,
      exposure: { introspection: true, graphiql: false, suggestions: false },
      email: {
        mode: "smtp",
        smtpUrl: "smtps://mailer:pw@smtp.example.com:465",
        from: "Acme <invitations@example.com>",
        inviteUrlTemplate: "https://app.example.com/invite?token={token}",
      },
      outbox: { maxAttempts: 5, backoffMs: 1000, pollMs: 500, leaseMs: 1500 },
      subscriptions: { maxPerUser: 7, maxPerAddress: 70 },
      webhooks: { allowPrivate: true, timeoutMs: 2500 },
    });
  });

  it("reads the abuse budgets", () => {
    const config = loadConfig({
      RATE_LIMIT_ADDRESS_MAX: "50",
      RATE_LIMIT_BRUTE_FORCE_MAX: "5",
      RATE_LIMIT_BRUTE_FORCE_WINDOW_MS: "60000",
      RATE_LIMIT_INVITATIONS_PER_USER: "10",
      RATE_LIMIT_INVITATIONS_PER_ORGANIZATION: "30",
      RATE_LIMIT_INVITATIONS_WINDOW_MS: "120000",
    });
    expect(config.abuse).toEqual({
      addressMax: 50,
      bruteForce: { max: 5, windowMs: 60_000 },
      invitations: { perUser: 10, perOrganization: 30, windowMs: 120_000 },
    });
    expect(problemsOf({ RATE_LIMIT_BRUTE_FORCE_MAX: "0" }).map((p) => p.split(":")[0])).toEqual(["RATE_LIMIT_BRUTE_FORCE_MAX"]);
  });

  it("bounds time by default: request deadline 5 s; PostgreSQL connect 1.5 s, statement 2 s, client query 0.25 s more", () => {
    expect(loadConfig({}).requestTimeoutMs).toBe(5_000);
    expect(loadConfig({ DATABASE_URL: "postgres://db/app" }).database).toMatchObject({
      timeouts: { connectTimeoutMs: 1_500, statementTimeoutMs: 2_000, queryTimeoutMs: 2_250 },
    });
    expect(loadConfig({ DATABASE_URL: "postgres://db/app", DATABASE_STATEMENT_TIMEOUT_MS: "10000" }).database).toMatchObject({
      timeouts: { statementTimeoutMs: 10_000, queryTimeoutMs: 10_250 },
    });
  });

  it("refuses a client query timeout that would fire before PostgreSQL's statement timeout", () => {
    expect(problemsOf({ DATABASE_STATEMENT_TIMEOUT_MS: "3000", DATABASE_QUERY_TIMEOUT_MS: "3000", REQUEST_TIMEOUT_MS: "5" })).toEqual([
      "REQUEST_TIMEOUT_MS: must be at least 100",
      "DATABASE_QUERY_TIMEOUT_MS: must be greater than DATABASE_STATEMENT_TIMEOUT_MS",
    ]);
  });

  it("email is one feature: SMTP_URL needs EMAIL_FROM, and in production INVITE_URL_TEMPLATE; without it development logs links and production sends nothing", () => {
    const problems = (env: Record<string, string>) => {
      try {
        loadConfig(env);
        return [];
      } catch (error) {
        return (error as ConfigError).problems;
      }
    };
    expect(problems({ SMTP_URL: "smtp://localhost:2525" })).toEqual(["EMAIL_FROM: is required with SMTP_URL"]);
    expect(problems({ NODE_ENV: "production", JWT_SECRET: SECRET, SMTP_URL: "smtp://localhost:2525", EMAIL_FROM: "a@b.c" })).toEqual([
      "INVITE_URL_TEMPLATE: is required in production with SMTP_URL",
    ]);
    expect(problems({ INVITE_URL_TEMPLATE: "https://app.example.com/invite" })[0]).toMatch(/^INVITE_URL_TEMPLATE: must be an http\(s\) URL containing \{token\}/);
    expect(problems({ SMTP_URL: "http://mail" })[0]).toMatch(/^SMTP_URL: must be an smtp/);
    expect(loadConfig({}).email).toEqual({ mode: "log", inviteUrlTemplate: undefined });
    expect(loadConfig({ NODE_ENV: "production", JWT_SECRET: SECRET }).email).toEqual({ mode: "off" });
  });

  it("keeps PGlite in memory with PGLITE_DATA_DIR=memory://", () => {
    expect(loadConfig({ PGLITE_DATA_DIR: "memory://" }).database).toEqual({ kind: "pglite", dataDir: "memory://" });
  });

  it("uses JWKS (and no secret) when JWT_JWKS_URL is set", () => {
    const config = loadConfig({
      JWT_JWKS_URL: "https://issuer.example.com/.well-known/jwks.json",
      JWT_ISSUER: "https://issuer.example.com/",
      JWT_AUDIENCE: "api",
    });
    expect(config.jwt).toEqual({
      secret: undefined,
      jwksUrl: "https://issuer.example.com/.well-known/jwks.json",
      issuer: "https://issuer.example.com/",
      audience: "api",
      usingDevSecret: false,
    });
  });

  it("requires JWT_ISSUER and JWT_AUDIENCE with JWT_JWKS_URL, so tokens for other applications are refused", () => {
    expect(problemsOf({ JWT_JWKS_URL: "https://issuer.example.com/.well-known/jwks.json" }).map((p) => p.split(":")[0]).sort()).toEqual([
      "JWT_AUDIENCE",
      "JWT_ISSUER",
    ]);
  });

  it("lists every bad variable at once, by name", () => {
    const problems = problemsOf({
      NODE_ENV: "staging",
      PORT: "abc",
      DATABASE_URL: "mysql://x",
      DATABASE_POOL_SIZE: "0",
      JWT_SECRET: "short",
      JWT_JWKS_URL: "not a url",
      INVITATION_TTL_HOURS: "100000",
      LOG_LEVEL: "loud",
      SHUTDOWN_TIMEOUT_MS: "-1",
      REDIS_URL: "http://cache:6379",
      RATE_LIMIT_MAX: "lots",
      RATE_LIMIT_WINDOW_MS: "0",
      TRUST_PROXY: "yes",
    });
    const named = problems.map((p) => p.split(":")[0]);
    expect(named.sort()).toEqual(
      [
        "NODE_ENV",
        "PORT",
        "DATABASE_URL",
        "DATABASE_POOL_SIZE",
        "JWT_SECRET",
        "JWT_JWKS_URL",
        "INVITATION_TTL_HOURS",
        "LOG_LEVEL",
        "SHUTDOWN_TIMEOUT_MS",
        "REDIS_URL",
        "RATE_LIMIT_MAX",
        "RATE_LIMIT_WINDOW_MS",
        "TRUST_PROXY",
      ].sort(),
    );
    const error = (() => {
      try {
        loadConfig({ PORT: "abc", LOG_LEVEL: "loud" });
      } catch (e) {
        return e as Error;
      }
    })();
    expect(error?.message).toMatch(/PORT: .*\n.*LOG_LEVEL: /s);
  });

  it.each([
    ["PORT", "70000"],
    ["PORT", "1e3"],
    ["PORT", "0x50"],
    ["PORT", "80.5"],
    ["INVITATION_TTL_HOURS", "0"],
    ["INVITATION_TTL_HOURS", "721"],
    ["JWT_JWKS_URL", "file:///etc/jwks.json"],
    ["DATABASE_URL", "postgres-ish"],
    ["REDIS_URL", "127.0.0.1:6379"],
    ["RATE_LIMIT_MAX", "-1"],
    ["RATE_LIMIT_WINDOW_MS", "99"],
    ["TRUST_PROXY", "11"],
  ])("rejects %s=%s", (name, value) => {
    expect(problemsOf({ [name]: value }).map((p) => p.split(":")[0])).toEqual([name]);
  });

  it("accepts rediss:// and RATE_LIMIT_MAX=0 (rate limiting off)", () => {
    const config = loadConfig({ REDIS_URL: "rediss://cache.example.com:6380", RATE_LIMIT_MAX: "0" });
    expect(config.redisUrl).toBe("rediss://cache.example.com:6380");
    expect(config.rateLimit).toEqual({ max: 0, windowMs: 60_000 });
  });

  it("refuses production without JWT_SECRET or JWT_JWKS_URL, and says both names", () => {
    const problems = problemsOf({ NODE_ENV: "production" });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^JWT_SECRET: .*JWT_JWKS_URL/);
    // Reported together with other problems, not after they are fixed.
    expect(problemsOf({ NODE_ENV: "production", PORT: "abc" }).map((p) => p.split(":")[0]).sort()).toEqual(["JWT_SECRET", "PORT"]);
  });

  it("accepts production with either a secret or a JWKS URL", () => {
    expect(loadConfig({ NODE_ENV: "production", JWT_SECRET: SECRET }).jwt).toMatchObject({ secret: SECRET, usingDevSecret: false });
    const jwks = { JWT_JWKS_URL: "https://idp.example.com/jwks", JWT_ISSUER: "https://idp.example.com/", JWT_AUDIENCE: "api" };
    expect(loadConfig({ NODE_ENV: "production", ...jwks }).jwt).toMatchObject({
      secret: undefined,
      usingDevSecret: false,
    });
  });

  it("listens on every interface in production, on 127.0.0.1 elsewhere, and where HOST says in either", () => {
    expect(loadConfig({ NODE_ENV: "production", JWT_SECRET: SECRET }).host).toBe("0.0.0.0");
    expect(loadConfig({ NODE_ENV: "development" }).host).toBe("127.0.0.1");
    expect(loadConfig({ NODE_ENV: "test" }).host).toBe("127.0.0.1");
    expect(loadConfig({ HOST: "0.0.0.0" }).host).toBe("0.0.0.0");
    expect(loadConfig({ NODE_ENV: "production", JWT_SECRET: SECRET, HOST: "10.0.0.5" }).host).toBe("10.0.0.5");
  });

  it("keeps the development secret beside the PGlite data, or under .data/ when there is no data directory", () => {
    expect(loadConfig({ PGLITE_DATA_DIR: "/var/lib/app/pglite" }).jwt.devSecretFile).toBe("/var/lib/app/dev-jwt-secret");
    expect(loadConfig({ PGLITE_DATA_DIR: "memory://" }).jwt.devSecretFile).toBe(".data/dev-jwt-secret");
    expect(loadConfig({ DATABASE_URL: "postgres://localhost/app" }).jwt.devSecretFile).toBe(".data/dev-jwt-secret");
    expect(loadConfig({ JWT_SECRET: SECRET }).jwt).toMatchObject({ usingDevSecret: false, devSecretFile: undefined });
  });

  it("has no secret written in its source", async () => {
    const source = await readFile(new URL("../src/config.ts", import.meta.url), "utf8");
    expect(source).not.toMatch(/secret[^\n]*=\s*["'`][^"'`]{16,}["'`]/i);
  });

  it("never repeats a value back in its messages", () => {
    const secrets = {
      JWT_SECRET: "hunter2-too-short",
      DATABASE_URL: "mysql://admin:p4ssw0rd-xyzzy@db/prod",
      JWT_JWKS_URL: "ftp://token-abc123@idp/jwks",
      PORT: "p0rt-s3cret",
      LOG_LEVEL: "l0g-s3cret",
      NODE_ENV: "n0de-s3cret",
      REDIS_URL: "memcached://user:r3dis-pw@cache:11211",
    };
    const problems = problemsOf(secrets);
    expect(problems).toHaveLength(Object.keys(secrets).length);
    const text = problems.join("\n");
    for (const value of Object.values(secrets)) expect(text).not.toContain(value);
    for (const fragment of ["hunter2", "p4ssw0rd", "abc123", "s3cret", "r3dis-pw"]) expect(text).not.toContain(fragment);
  });

  it("query limits, body size and exposure: defaults, variables, and production's defaults", () => {
    const dev = loadConfig({});
    expect(dev.queryLimits).toEqual({ depth: 12, aliases: 30, tokens: 3000, directives: 20, cost: 10_000 });
    expect(dev.maxBodyBytes).toBe(524_288);
    expect(dev.exposure).toEqual({ introspection: true, graphiql: true, suggestions: true });
    const prod = loadConfig({ NODE_ENV: "production", JWT_SECRET: SECRET });
    expect(prod.exposure).toEqual({ introspection: false, graphiql: false, suggestions: false });
    const set = loadConfig({
      NODE_ENV: "production",
      JWT_SECRET: SECRET,
      GRAPHQL_MAX_DEPTH: "8",
      GRAPHQL_MAX_ALIASES: "5",
      GRAPHQL_MAX_TOKENS: "500",
      GRAPHQL_MAX_DIRECTIVES: "0",
      GRAPHQL_MAX_COST: "2000",
      MAX_BODY_BYTES: "65536",
      GRAPHQL_INTROSPECTION: "true",
      GRAPHIQL: "1",
    });
    expect(set.queryLimits).toEqual({ depth: 8, aliases: 5, tokens: 500, directives: 0, cost: 2000 });
    expect(set.maxBodyBytes).toBe(65_536);
    expect(set.exposure).toEqual({ introspection: true, graphiql: true, suggestions: false });
    expect(loadConfig({ GRAPHQL_INTROSPECTION: "false", GRAPHIQL: "0" }).exposure).toEqual({ introspection: false, graphiql: false, suggestions: true });
    expect(problemsOf({ GRAPHQL_MAX_DEPTH: "0", MAX_BODY_BYTES: "12", GRAPHIQL: "yes" })).toEqual([
      "GRAPHQL_MAX_DEPTH: must be at least 1",
      "MAX_BODY_BYTES: must be at least 1024",
      "GRAPHIQL: must be true or false",
    ]);
  });
});

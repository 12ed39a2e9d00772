/**
 * The real process (`src/main.ts`, as `npm start` runs it) on an embedded PGlite data directory: probes, GraphiQL,
 * a token from `npm run token`, data kept across a restart, graceful shutdown, and refusing bad configuration.
 * Readiness while starting and while the database is down is checked in process, without spawning.
 */
import { request as httpRequest, type IncomingMessage } from "node:http";
import { connect } from "node:net";
import { mkdtemp, readdir, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signDevToken } from "../src/auth/token.js";
import { loadConfig } from "../src/config.js";
import { openDatabase } from "../src/db/client.js";
import { createLogger } from "../src/logger.js";
import { createServer } from "../src/server.js";
import { devToken, freePort, gqlOver, killAll, run, spawnServer } from "./helpers/processes.js";

const SECRET = "startup-test-secret-0123456789-0123456789";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "invitations-startup-"));
});
afterAll(async () => {
  await killAll();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("the server process on an embedded database", () => {
  const env = () => ({ PGLITE_DATA_DIR: join(dir, "pglite"), JWT_SECRET: SECRET });
  let token = "";
  let organizationId = "";

  it("starts on an empty data directory, serves the probes and GraphiQL offline, and answers viewer with a token from npm run token", async () => {
    const server = await spawnServer(env());

    const health = await server.waitFor("/health", 200);
    expect(health.headers.get("content-type")).toMatch(/^application\/json/);
    expect(await health.json()).toEqual({ status: "ok" });

    const ready = await server.waitFor("/ready", 200);
    expect(ready.headers.get("content-type")).toMatch(/^application\/json/);
    expect(await ready.json()).toMatchObject({ status: "ready", database: "up", migrations: "applied" });

    const page = await fetch(`${server.url}/graphql`, { headers: { accept: "text/html" } });
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toMatch(/^text\/html/);
    const html = await page.text();
    expect(html).toMatch(/<html/i);
    expect(html).toMatch(/graphiql/i);
    // Everything is inline: no script, stylesheet or import fetched from another origin (these machines reach no CDN).
    expect(html).not.toMatch(/<(script|link)\b[^>]*\b(src|href)\s*=\s*["']?(https?:)?\/\//i);
    expect(html).not.toMatch(/\bimport\s*(\(\s*)?["'](https?:)?\/\//);
    expect(html).not.toMatch(/unpkg\.com|cdn\.jsdelivr\.net|esm\.sh|cdnjs/);

    token = await devToken({ JWT_SECRET: SECRET }, "alice@example.com", "Alice");
    const viewer = await gqlOver(server.url, /* GraphQL */ `{ viewer { id email name } }`, undefined, token);
    expect(viewer.status).toBe(200);
    expect(viewer.body).toEqual({ data: { viewer: { id: expect.any(String), email: "alice@example.com", name: "Alice" } } });

    const created = await gqlOver(
      server.url,
      /* GraphQL */ `mutation { createOrganization(input: { name: "Kept Across Restarts" }) { organization { id name } } }`,
      undefined,
      token,
    );
    expect(created.body.errors).toBeUndefined();
    organizationId = created.body.data.createOrganization.organization.id;

    expect(await server.stop("SIGINT")).toBe(0);
    expect(server.stderr()).toContain('"message":"stopped"');
  });

  it("keeps the data across a restart; on SIGTERM it refuses new connections, finishes the request in flight, and exits 0", async () => {
    expect(organizationId).not.toBe("");
    const server = await spawnServer(env());
    await server.waitFor("/ready", 200);
    const migrations = (await readdir(new URL("../prisma/migrations/", import.meta.url), { withFileTypes: true })).filter((e) => e.isDirectory());
    expect(server.stderr()).toContain(`"alreadyApplied":${migrations.length}`);

    const kept = await gqlOver(server.url, /* GraphQL */ `query ($id: ID!) { organization(id: $id) { name memberCount } }`, { id: organizationId }, token);
    expect(kept.body).toEqual({ data: { organization: { name: "Kept Across Restarts", memberCount: 1 } } });

    // A request whose body is still on its way when the signal arrives. `Expect: 100-continue` makes the server say
    // when it has taken the request, so the signal surely comes while the request is in flight.
    const body = JSON.stringify({ query: "{ viewer { email } }" });
    const half = Math.floor(body.length / 2);
    const request = httpRequest(`${server.url}/graphql`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "content-length": String(Buffer.byteLength(body)),
        authorization: `Bearer ${token}`,
        expect: "100-continue",
      },
    });
    const responded = new Promise<IncomingMessage>((resolve, reject) => {
      request.once("response", resolve);
      request.once("error", reject);
    });
    await new Promise<void>((resolve, reject) => {
      request.once("continue", resolve);
      request.once("error", reject);
      request.flushHeaders();
    });
    request.write(body.slice(0, half));

    server.child.kill("SIGTERM");
    await server.waitForLog('"message":"stopping"');

    const refused = await new Promise<string>((resolve) => {
      const socket = connect(server.port, "127.0.0.1");
      socket.once("connect", () => {
        socket.destroy();
        resolve("connected");
      });
      socket.once("error", (error: NodeJS.ErrnoException) => resolve(error.code ?? String(error)));
    });
    expect(refused).toBe("ECONNREFUSED");

    request.end(body.slice(half));
    const response = await responded;
    let text = "";
    for await (const chunk of response) text += chunk;
    expect(response.statusCode).toBe(200);
    expect(JSON.parse(text)).toEqual({ data: { viewer: { email: "alice@example.com" } } });

    expect(await server.stop("SIGTERM")).toBe(0);
    expect(server.stderr()).toContain('"message":"stopped"');
  });

  it("in development without JWT_SECRET: generates a secret beside the data, npm run token uses it, it survives a restart; binds 127.0.0.1", async () => {
    // HOST "" is unset (the helper sets one otherwise): the development default applies.
    const devEnv = { PGLITE_DATA_DIR: join(dir, "dev", "pglite"), HOST: "" };
    const secretFile = join(dir, "dev", "dev-jwt-secret");
    const first = await spawnServer(devEnv);
    await first.waitFor("/ready", 200, 120_000);
    expect(first.stderr()).toContain('"host":"127.0.0.1"');
    const secret = (await readFile(secretFile, "utf8")).trim();
    expect(secret.length).toBeGreaterThanOrEqual(32);
    expect((await stat(secretFile)).mode & 0o777).toBe(0o600);
    expect(first.stderr()).toContain(secretFile);
    expect(first.stderr() + first.stdout()).not.toContain(secret);

    const devUser = await devToken(devEnv, "dev@example.com", "Dev");
    const viewer = await gqlOver(first.url, /* GraphQL */ `{ viewer { email } }`, undefined, devUser);
    expect(viewer.body).toEqual({ data: { viewer: { email: "dev@example.com" } } });
    // A token signed with any other secret (as anyone could with a secret published in the source) is refused.
    const forged = await signDevToken("dev-only-insecure-secret-change-me-0123456789", { sub: "dev|x", email: "x@example.com" });
    expect((await gqlOver(first.url, /* GraphQL */ `{ viewer { email } }`, undefined, forged)).body.errors[0].extensions.code).toBe("UNAUTHENTICATED");
    expect(await first.stop("SIGTERM")).toBe(0);

    const second = await spawnServer(devEnv);
    await second.waitFor("/ready", 200, 120_000);
    expect((await readFile(secretFile, "utf8")).trim()).toBe(secret);
    const again = await gqlOver(second.url, /* GraphQL */ `{ viewer { email } }`, undefined, devUser);
    expect(again.body).toEqual({ data: { viewer: { email: "dev@example.com" } } });
    expect(await second.stop("SIGTERM")).toBe(0);
  }, 240_000);

  it("refuses bad configuration, naming every bad variable and never echoing a secret", async () => {
    const result = await run(process.execPath, ["--import", "tsx", "src/main.ts"], {
      PORT: "abc",
      DATABASE_URL: "mysql://x",
      JWT_SECRET: "too-short-secret-xyz",
      LOG_LEVEL: "loud",
      INVITATION_TTL_HOURS: "0",
      PGLITE_DATA_DIR: "memory://",
    });
    expect(result.code).not.toBe(0);
    for (const variable of ["PORT", "DATABASE_URL", "JWT_SECRET", "LOG_LEVEL", "INVITATION_TTL_HOURS"]) {
      expect(result.stderr).toContain(variable);
    }
    expect(result.stderr).not.toContain("too-short-secret-xyz");
    expect(result.stderr).not.toContain('"message":"listening"');
  });

  it("refuses to start in production without JWT_SECRET or JWT_JWKS_URL", async () => {
    const result = await run(process.execPath, ["--import", "tsx", "src/main.ts"], { NODE_ENV: "production", PGLITE_DATA_DIR: "memory://" });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/JWT_SECRET/);
    expect(result.stderr).toMatch(/JWT_JWKS_URL/);
    expect(result.stderr).not.toContain('"message":"listening"');
  });
});

describe("readiness", () => {
  const config = loadConfig({ NODE_ENV: "test", JWT_SECRET: SECRET });
  const logger = createLogger("silent");

  it("answers /health but 503 on /ready and SERVICE_UNAVAILABLE on /graphql until start-up has finished", async () => {
    const server = createServer({ config, logger, isReady: () => false });
    const health = await server.fetch("http://localhost/health");
    expect(health.status).toBe(200);

    const ready = await server.fetch("http://localhost/ready");
    expect(ready.status).toBe(503);
    expect(ready.headers.get("content-type")).toMatch(/^application\/json/);
    expect(await ready.json()).toMatchObject({ status: "starting", migrations: "pending" });

    const token = await signDevToken(SECRET, { sub: "ready|1", email: "ready@example.test" });
    const response = await server.fetch("http://localhost/graphql", {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/graphql-response+json", authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: "{ viewer { id } }" }),
    });
    expect(response.status).toBe(503);
    expect(response.headers.get("retry-after")).toMatch(/^\d+$/);
    const result = await response.json();
    expect(result.errors?.[0]?.extensions).toEqual({ code: "SERVICE_UNAVAILABLE", retryAfterMs: expect.any(Number) });
  });

  it("answers 503 on /ready while stopping, yet still serves requests that arrive on open connections", async () => {
    const server = createServer({ config, logger, isReady: () => true, isStopping: () => true });
    const ready = await server.fetch("http://localhost/ready");
    expect(ready.status).toBe(503);
    expect(await ready.json()).toMatchObject({ status: "stopping" });

    const response = await server.fetch("http://localhost/graphql", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ query: "{ __typename }" }),
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ data: { __typename: "Query" } });
  });

  it("answers 503 on /ready and SERVICE_UNAVAILABLE on /graphql while the database is unreachable", async () => {
    const port = await freePort(); // nothing listens there
    const db = await openDatabase({ kind: "postgres", url: `postgres://root@127.0.0.1:${port}/nowhere`, poolSize: 2 });
    try {
      const server = createServer({ config, logger, isReady: () => true });
      expect((await server.fetch("http://localhost/health")).status).toBe(200);

      const ready = await server.fetch("http://localhost/ready");
      expect(ready.status).toBe(503);
      expect(await ready.json()).toMatchObject({ status: "unavailable", database: "down" });

      const token = await signDevToken(SECRET, { sub: "ready|2", email: "ready2@example.test" });
      const response = await server.fetch("http://localhost/graphql", {
        method: "POST",
        headers: { "content-type": "application/json", accept: "application/graphql-response+json", authorization: `Bearer ${token}` },
        body: JSON.stringify({ query: "{ viewer { id } }" }),
      });
      expect(response.status).toBe(503);
      const result = await response.json();
      expect(result.errors?.[0]?.extensions).toMatchObject({ code: "SERVICE_UNAVAILABLE" });
      expect(JSON.stringify(result)).not.toMatch(/ECONNREFUSED|127\.0\.0\.1/);
    } finally {
      await db.close();
    }
  });
});

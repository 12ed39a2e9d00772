/**
 * `npm run bench:cpu`: the server's CPU time per request for one or more operations of the benchmark, without the
 * ceiling or the full table. Quicker than `npm run bench`, and steady on a busy machine (it counts the server's
 * CPU time, process.cpuUsage, not requests per second). With BENCH_PROFILE=<dir> the server writes a CPU profile of
 * each measurement there (1.cpuprofile, 2.cpuprofile… in the order of BENCH_OPS; open them in Chrome DevTools).
 *
 * Besides A, B and C (as in bench/run.ts), T is `{ __typename }` with the owner's token: no resolver touches the
 * database, so it shows what every request pays before its own work (HTTP, Yoga and its plugins, context, auth).
 * B1…B6 are B's page (without totalCount) with growing node selections: id; id email status; + role { key };
 * + invitedBy { name }; + groups { name }; and id email: what each relation of a row costs. With BENCH_PROFILE and
 * BENCH_HEAP=1 the server also writes a sampling heap profile of each measurement (<n>.heapprofile, every allocation
 * including those collected since: bytes allocated per request, a steadier figure than CPU time on a busy machine).
 *
 *   BENCH_OPS=A,B,C,T BENCH_DURATION=10 BENCH_CONNECTIONS=8 npm run bench:cpu
 *   DATABASE_URL=postgres://…/postgres npm run bench:cpu     # PostgreSQL (a database of its own, dropped after)
 */
import { fork, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import os from "node:os";
import { join } from "node:path";
import autocannon from "autocannon";
import type { BenchMessage, Stats } from "./meter.js";
import { compiled } from "./compiled.js";
import { benchDatabase } from "./database.js";

const duration = Number(process.env.BENCH_DURATION ?? 10);
const warmup = Number(process.env.BENCH_WARMUP ?? 3);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 8);
const ops = (process.env.BENCH_OPS ?? "A,B,C").split(",");
const tag = randomBytes(3).toString("hex");

const env: Record<string, string> = {
  ...(process.env as Record<string, string>),
  JWT_SECRET: "bench-secret-0123456789-0123456789-0123",
  BENCH_TAG: tag,
  BENCH_SIZES: "1000",
  // As deployed (docs/operations.md): bench/server.ts gives it to the configuration, but graphql-js reads it from the
  // environment as it loads, and outside production it checks every failed instanceof for a second copy of itself.
  NODE_ENV: "production",
};
const dropDatabase = await benchDatabase(env, "benchcpu", tag);

// Bundled and run with plain node, as `npm start` runs the server (see bench/compiled.ts).
const server: ChildProcess = fork(await compiled("server.ts"), [], {
  env,
  execArgv: process.env.BENCH_NODE_ARGS ? process.env.BENCH_NODE_ARGS.split(" ") : [],
  stdio: ["ignore", "inherit", "inherit", "ipc"],
});

function next<T extends BenchMessage["type"]>(type: T): Promise<Extract<BenchMessage, { type: T }>> {
  return new Promise((resolve, reject) => {
    const onMessage = (message: BenchMessage) => {
      if (message.type !== type) return;
      server.off("message", onMessage);
      server.off("exit", onExit);
      resolve(message as Extract<BenchMessage, { type: T }>);
    };
    const onExit = (code: number | null) => reject(new Error(`${type}: the server exited with ${code}`));
    server.on("message", onMessage);
    server.once("exit", onExit);
  });
}

const { seeded } = await next("ready");
const organizationId = seeded.organizations[1000];
const A = `query Pending($first: Int) { pendingInvitations(first: $first) { totalCount edges { node { id organization { name logoUrl memberCount } role { key } invitedBy { name } } } } }`;
const B = `query Invitations($id: ID!, $first: Int, $after: String) { organization(id: $id) { invitations(first: $first, after: $after) { totalCount pageInfo { endCursor } edges { node { id email status role { key } invitedBy { name } groups { name } } } } } }`;
const C = `mutation Create($input: CreateInvitationInput!) { createInvitation(input: $input) { invitation { id } token } }`;
const bodies: Record<string, { bearer: string; body: () => string }> = {
  ...Object.fromEntries(
    [
      ["B1", "id"],
      ["B2", "id email status"],
      ["B3", "id email status role { key }"],
      ["B4", "id email status role { key } invitedBy { name }"],
      ["B5", "id email status role { key } invitedBy { name } groups { name }"],
      ["B6", "id email"],
    ].map(([op, node]) => [
      op!,
      { bearer: seeded.owner, body: () => JSON.stringify({ query: `query V($id: ID!) { organization(id: $id) { invitations(first: 50) { edges { node { ${node} } } } } }`, variables: { id: organizationId } }) },
    ]),
  ),
  T: { bearer: seeded.owner, body: () => JSON.stringify({ query: "query T { __typename }", operationName: "T" }) },
  A: { bearer: seeded.invitee, body: () => JSON.stringify({ query: A, operationName: "Pending", variables: { first: 20 } }) },
  B: { bearer: seeded.owner, body: () => JSON.stringify({ query: B, operationName: "Invitations", variables: { id: organizationId, first: 50 } }) },
  C: {
    bearer: seeded.owner,
    body: () =>
      JSON.stringify({
        query: C,
        operationName: "Create",
        variables: { input: { organizationId: seeded.forWrites, email: `c-${randomBytes(8).toString("hex")}@bench.test` } },
      }),
  },
};

const lines: string[] = [];
for (const op of ops) {
  const { bearer, body } = bodies[op]!;
  const check = (await (await fetch(seeded.url, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${bearer}` }, body: body() })).json()) as {
    errors?: unknown;
  };
  if (check.errors) throw new Error(`${op}: ${JSON.stringify(check.errors)}`);
  const options = {
    url: seeded.url,
    connections,
    method: "POST" as const,
    headers: { "content-type": "application/json", authorization: `Bearer ${bearer}` },
    requests: [{ setupRequest: (request: any) => ({ ...request, body: body() }) }],
  };
  if (warmup > 0) await autocannon({ ...options, duration: warmup });
  server.send({ type: "reset" } satisfies BenchMessage);
  const result = await autocannon({ ...options, duration });
  const reply = next("stats");
  server.send({ type: "stats" } satisfies BenchMessage);
  const stats: Stats = (await reply).stats!;
  const per = (v: number) => (stats.requests ? v / stats.requests : 0).toFixed(2);
  lines.push(
    `${op}: ${stats.requests} requests, ${per(stats.cpuMs)} CPU ms/req (${per(stats.sysMs ?? 0)} system), ${per(stats.statements)} SQL/req, ${result.requests.average} req/s, errors ${result.errors + result.non2xx}, peak RSS ${stats.peakRssMb} MB`,
  );
  process.stderr.write(`${lines.at(-1)}\n`);
}
const exited = new Promise((resolve) => server.once("exit", resolve));
server.send({ type: "stop" } satisfies BenchMessage);
await exited;
await dropDatabase();
process.stdout.write(`${seeded.database}; ${connections} connections; ${duration} s per operation; load ${os.loadavg().map((l) => l.toFixed(1)).join(" ")}\n${lines.join("\n")}\n`);

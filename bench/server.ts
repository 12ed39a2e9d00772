/**
 * The server under benchmark, in a process of its own (so the load generator's CPU and memory are not counted as
 * the server's): the same createServer as src/main.ts, no rate limits, plus what the benchmark reads over IPC:
 * requests served, SQL statements sent, their time as the client sees it, CPU time and peak RSS since the last reset.
 * It seeds the data itself (PGlite serves one process) and reports the tokens and ids to bench/run.ts.
 */
import { writeFileSync } from "node:fs";
import { createServer as createHttpServer } from "node:http";
import { Session } from "node:inspector/promises";
import type { AddressInfo } from "node:net";
import { signDevToken } from "../src/auth/token.js";
import { loadConfig } from "../src/config.js";
import { openDatabase } from "../src/db/client.js";
import { migrate } from "../src/db/migrate.js";
import { onQuery } from "../src/db/query-log.js";
import { createLogger } from "../src/logger.js";
import { tuneHeap } from "../src/heap.js";
import { createServer } from "../src/server.js";
import { seedInvitations, seedInvitee } from "./seed.js";
import { Meter, type BenchMessage, type Seeded } from "./meter.js";

// As src/main.ts does: the heap settings the product runs with.
tuneHeap();

const tag = process.env.BENCH_TAG!;
const sizes = (process.env.BENCH_SIZES ?? "1000,10000").split(",").map(Number);
const config = loadConfig({ ...process.env, NODE_ENV: "production", LOG_LEVEL: "error", RATE_LIMIT_MAX: "0" });
const db = await openDatabase(config.database);
const session = await db.session();
await migrate(session);
// Older builds of the server (to benchmark a before/after) have no analyze().
await db.analyze?.();

const yoga = createServer({ config, logger: createLogger("error"), isReady: () => true });
const meter = new Meter();
// Counted when Yoga has finished with a request (its handler's promise), not when the socket closes: autocannon
// drops its connections at the end of a run while resolvers still hold database connections.
let inFlight = 0;
const http = createHttpServer(async (request, response) => {
  inFlight += 1;
  try {
    await yoga(request, response);
  } finally {
    inFlight -= 1;
    meter.request();
  }
});
onQuery((_sql, durationMs) => meter.statement(durationMs));
// Seeding 10,000 rows on PGlite idles the set-up connection past Node's 5 s default; fetch would reuse it as it closes.
http.keepAliveTimeout = 120_000;
await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}/graphql`;

const token = (name: string) =>
  signDevToken(config.jwt.secret!, { sub: `bench|${tag}|${name}`, email: `${name}-${tag}@bench.test`, name }, { expiresIn: "4h" });
const owner = await token("owner");
const invitee = await token("invitee");

async function gql(bearer: string, query: string): Promise<any> {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${bearer}` },
    body: JSON.stringify({ query }),
  });
  const body = (await response.json()) as { data?: any; errors?: unknown[] };
  if (body.errors) throw new Error(JSON.stringify(body.errors));
  return body.data;
}

await gql(invitee, `{ viewer { id } }`);
const organizations: Record<number, string> = {};
for (const size of sizes) {
  const created = await gql(owner, `mutation { createOrganization(input: { name: "Bench ${size} ${tag}" }) { organization { id } } }`);
  const globalId: string = created.createOrganization.organization.id;
  organizations[size] = globalId;
  const organizationId = Buffer.from(globalId, "base64url").toString().split(":")[1]!;
  const [row] = await session.query<{ ownerId: string; roleId: string }>(
    `SELECT m."userId" AS "ownerId", r.id AS "roleId" FROM "Membership" m JOIN "Role" r ON r."organizationId" = m."organizationId" AND r.key = 'member'
      WHERE m."organizationId" = $1`,
    [organizationId],
  );
  await seedInvitations(session, { organizationId, ownerId: row!.ownerId, memberRoleId: row!.roleId }, size, `${tag}-${size}`);
}
// C writes into an organization of its own, so the lists measured (and compared with the ceiling) stay as seeded.
const forWrites: string = (await gql(owner, `mutation { createOrganization(input: { name: "Bench writes ${tag}" }) { organization { id } } }`))
  .createOrganization.organization.id;
const [ownerRow] = await session.query<{ id: string }>(`SELECT id FROM "User" WHERE sub = $1`, [`bench|${tag}|owner`]);
await seedInvitee(session, `invitee-${tag}@bench.test`, ownerRow!.id, tag);
await session.release();

const seeded: Seeded = { url, owner, invitee, organizations, forWrites, database: db.kind };
process.send!({ type: "ready", seeded } satisfies BenchMessage);
// BENCH_PROFILE=<dir>: a CPU profile of each measurement (from "reset" to "stats"), written there as <n>.cpuprofile.
const profileDir = process.env.BENCH_PROFILE;
const profiler = profileDir ? new Session() : undefined;
if (profiler) {
  profiler.connect();
  await profiler.post("Profiler.enable");
}
let profiles = 0;
process.on("message", async (message: BenchMessage) => {
  if (message.type === "reset") {
    meter.reset();
    await profiler?.post("Profiler.start");
    if (profiler && process.env.BENCH_HEAP) {
      await profiler.post("HeapProfiler.startSampling", { samplingInterval: 4096, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true } as never);
    }
  } else if (message.type === "stats") {
    const stats = meter.read();
    if (profiler) {
      const { profile } = await profiler.post("Profiler.stop");
      profiles += 1;
      writeFileSync(`${profileDir}/${profiles}.cpuprofile`, JSON.stringify(profile));
      if (process.env.BENCH_HEAP) {
        const heap = await profiler.post("HeapProfiler.stopSampling");
        writeFileSync(`${profileDir}/${profiles}.heapprofile`, JSON.stringify(heap.profile));
      }
    }
    process.send!({ type: "stats", stats } satisfies BenchMessage);
  }
  else if (message.type === "stop") {
    // autocannon stops without waiting for its last responses: let them finish before closing the database.
    http.close();
    http.closeIdleConnections();
    const wait = setInterval(() => {
      if (inFlight > 0) return;
      clearInterval(wait);
      void db.close().then(() => process.exit(0));
    }, 20);
  }
});

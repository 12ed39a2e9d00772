/**
 * `npm run bench`: throughput and latency of the main read and write paths over real HTTP (autocannon on loopback),
 * on embedded PGlite, or on PostgreSQL when DATABASE_URL is set. Prints a Markdown table.
 *   BENCH_DURATION=10 BENCH_CONNECTIONS=10 npm run bench
 */
import { randomBytes } from "node:crypto";
import { createServer as createHttpServer } from "node:http";
import type { AddressInfo } from "node:net";
import autocannon from "autocannon";
import { signDevToken } from "../src/auth/token.js";
import { loadConfig } from "../src/config.js";
import { openDatabase } from "../src/db/client.js";
import { migrate } from "../src/db/migrate.js";
import { uuidv7 } from "../src/ids.js";
import { createLogger } from "../src/logger.js";
import { createServer } from "../src/server.js";

const duration = Number(process.env.BENCH_DURATION ?? 10);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 10);
const config = loadConfig({
  ...process.env,
  NODE_ENV: "production",
  JWT_SECRET: "bench-secret-0123456789-0123456789-0123",
  PGLITE_DATA_DIR: "memory://",
  LOG_LEVEL: "error",
});
const db = await openDatabase(config.database);
const session = await db.session();
await migrate(session);
await session.release();

const yoga = createServer({ config, logger: createLogger("error"), isReady: () => true });
const http = createHttpServer(yoga);
await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}/graphql`;

const run = randomBytes(3).toString("hex");
const token = (name: string) =>
  signDevToken(config.jwt.secret!, { sub: `bench|${run}|${name}`, email: `${name}-${run}@bench.test`, name }, { expiresIn: "2h" });
const owner = await token("owner");
const invitee = await token("invitee");

async function gql(bearer: string, query: string, variables: Record<string, unknown> = {}) {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${bearer}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as { data?: any; errors?: unknown[] };
  if (body.errors) throw new Error(JSON.stringify(body.errors));
  return body.data;
}

// Seed: one organization with 100 invitations; the invitee has 50 pending invitations from 50 organizations.
const orgId: string = (await gql(owner, `mutation { createOrganization(input: { name: "Bench ${run}" }) { organization { id } } }`))
  .createOrganization.organization.id;
await gql(invitee, `{ viewer { id } }`);
const prisma = db.prisma;
const ownerRow = await prisma.user.findUniqueOrThrow({ where: { sub: `bench|${run}|owner` } });
const org = await prisma.organization.findFirstOrThrow({ where: { name: `Bench ${run}` }, include: { roles: true } });
const memberRole = org.roles.find((r) => r.key === "member")!;
const expiresAt = new Date(Date.now() + 7 * 86_400_000);
await prisma.invitation.createMany({
  data: Array.from({ length: 100 }, (_, i) => ({
    id: uuidv7(),
    organizationId: org.id,
    email: `seed-${i}-${run}@bench.test`,
    roleId: memberRole.id,
    invitedById: ownerRow.id,
    tokenHash: uuidv7(),
    expiresAt,
  })),
});
for (let i = 0; i < 50; i += 1) {
  const other = await prisma.organization.create({
    data: { name: `Inviter ${i}`, slug: `inviter-${run}-${i}`, roles: { create: { key: "member", name: "Member", permissions: ["members:read"] } } },
    include: { roles: true },
  });
  await prisma.invitation.create({
    data: { organizationId: other.id, email: `invitee-${run}@bench.test`, roleId: other.roles[0]!.id, invitedById: ownerRow.id, tokenHash: uuidv7(), expiresAt },
  });
}

interface Scenario {
  name: string;
  bearer: string;
  body: () => string;
}

const scenarios: Scenario[] = [
  { name: "viewer { id }", bearer: owner, body: () => JSON.stringify({ query: "{ viewer { id } }" }) },
  {
    name: "pendingInvitations(first: 20) with organization, inviter, role",
    bearer: invitee,
    body: () =>
      JSON.stringify({
        query: `{ pendingInvitations(first: 20) { totalCount edges { node { id status expiresAt organization { name logoUrl memberCount } invitedBy { name avatarUrl } role { key } } } } }`,
      }),
  },
  {
    name: "organization.invitations(first: 100, status: [PENDING])",
    bearer: owner,
    body: () =>
      JSON.stringify({
        query: `query ($id: ID!) { organization(id: $id) { invitations(first: 100, status: [PENDING]) { totalCount edges { node { id email status role { key } invitedBy { name } } } } } }`,
        variables: { id: orgId },
      }),
  },
  {
    name: "createInvitation (write, one transaction)",
    bearer: owner,
    body: () =>
      JSON.stringify({
        query: `mutation ($input: CreateInvitationInput!) { createInvitation(input: $input) { invitation { id } token } }`,
        variables: { input: { organizationId: orgId, email: `w-${randomBytes(6).toString("hex")}@bench.test` } },
      }),
  },
];

const rows: string[] = [];
for (const scenario of scenarios) {
  // A short warm-up, then the measured run.
  await autocannon({ url, connections, duration: 2, method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${scenario.bearer}` }, requests: [{ setupRequest: (r) => ({ ...r, body: scenario.body() }) }] });
  const result = await autocannon({
    url,
    connections,
    duration,
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${scenario.bearer}` },
    requests: [{ setupRequest: (r) => ({ ...r, body: scenario.body() }) }],
  });
  const errors = result.errors + result.non2xx;
  rows.push(
    `| ${scenario.name} | ${Math.round(result.requests.average)} | ${result.latency.p50} | ${result.latency.p99} | ${errors} |`,
  );
  process.stderr.write(`done: ${scenario.name}\n`);
}

const rssMb = Math.round(process.memoryUsage().rss / 1024 / 1024);
process.stdout.write(
  [
    `Database: ${config.database.kind}; ${connections} connections; ${duration} s per scenario; Node ${process.version}; RSS after: ${rssMb} MB`,
    "",
    "| scenario | req/s | p50 ms | p99 ms | errors |",
    "|---|---:|---:|---:|---:|",
    ...rows,
    "",
  ].join("\n"),
);

// autocannon stops without waiting for its last responses: let them finish before closing the database.
await new Promise((resolve) => http.close(resolve));
await db.close();
process.exit(0);

/**
 * `npm run bench:limits`: how long the most expensive documents that the default query limits admit take on the
 * embedded PGlite (which cannot cancel a statement, so the limits are its only protection), and that the ones just
 * past them are refused at once. One organization with 100 invitations, each with 2 groups; every document runs
 * once as its owner, in order. `LIMITS_ONLY=<name>` runs one document.
 */
import { randomBytes } from "node:crypto";
import { parse } from "graphql";
import { signDevToken } from "../src/auth/token.js";
import { loadConfig } from "../src/config.js";
import { openDatabase } from "../src/db/client.js";
import { migrate } from "../src/db/migrate.js";
import { onQuery } from "../src/db/query-log.js";
import { loadavg } from "node:os";
import { uuidv7 } from "../src/ids.js";
import { createLogger } from "../src/logger.js";
import { operationCosts } from "../src/plugins/query-cost.js";
import { schema } from "../src/schema/index.js";
import { createServer } from "../src/server.js";

const config = loadConfig({
  NODE_ENV: "production",
  JWT_SECRET: "bench-secret-0123456789-0123456789-0123",
  PGLITE_DATA_DIR: "memory://",
  LOG_LEVEL: "error",
});
const db = await openDatabase(config.database);
const session = await db.session();
await migrate(session);
await session.release();
const server = createServer({ config, logger: createLogger("error"), isReady: () => true });

const run = randomBytes(3).toString("hex");
const token = await signDevToken(config.jwt.secret!, { sub: `bench|${run}`, email: `owner-${run}@bench.test`, name: "Owner" }, { expiresIn: "2h" });

async function gql(query: string, variables: Record<string, unknown> = {}) {
  const response = await server.fetch("http://localhost/graphql", {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/graphql-response+json", authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  const text = await response.text();
  return { status: response.status, text, body: JSON.parse(text) as { data?: any; errors?: Array<{ extensions?: any }> } };
}

const created = await gql(`mutation { createOrganization(input: { name: "Limits ${run}" }) { organization { id } } }`);
const orgId: string = created.body.data.createOrganization.organization.id;
const prisma = db.prisma;
const org = await prisma.organization.findFirstOrThrow({ where: { name: `Limits ${run}` }, include: { roles: true } });
const owner = await prisma.user.findUniqueOrThrow({ where: { sub: `bench|${run}` } });
const groups = await Promise.all([1, 2].map((i) => prisma.group.create({ data: { organizationId: org.id, name: `G${i}` } })));
const expiresAt = new Date(Date.now() + 7 * 86_400_000);
for (let i = 0; i < 100; i += 1) {
  await prisma.invitation.create({
    data: {
      id: uuidv7(),
      organizationId: org.id,
      email: `seed-${i}-${run}@bench.test`,
      roleId: org.roles.find((r) => r.key === "member")!.id,
      invitedById: owner.id,
      tokenHash: uuidv7(),
      expiresAt,
      groups: { connect: groups.map((g) => ({ id: g.id })) },
    },
  });
}

const node = "id email status createdAt role { key } groups { name } invitedBy { name }";
const nest = (sizes: number[], leaf: string) =>
  sizes.reduceRight((inner, size) => `organization { invitations(first: ${size}) { edges { node { ${inner} } } } }`, leaf);
const root = (inner: string) => `{ o: ${inner.replace(/^organization/, `organization(id: "${orgId}")`)} }`;

const documents: Array<{ name: string; query: string }> = [
  { name: "one page: 100 invitations with role, groups, inviter", query: root(nest([100], node)) },
  { name: "100 x 100 invitations (scalars only beneath)", query: root(nest([100, 100], "id email status createdAt")) },
  { name: "100 x 32 invitations with role, groups, inviter", query: root(nest([100, 32], node)) },
  {
    name: "24 aliases x 100 invitations with role, groups, inviter, organization",
    query: `{ o: organization(id: "${orgId}") { ${Array.from({ length: 24 }, (_, i) => `a${i}: invitations(first: 100) { edges { node { ${node} organization { name } } } }`).join(" ")} } }`,
  },
  { name: "100 x 48 x 100 invitations (scalars only beneath)", query: root(nest([100, 48, 100], "id email")) },
  { name: "the issue's three levels: 100 x 100 x 100", query: root(nest([100, 100, 100], "id email")) },
];

const only = process.env.LIMITS_ONLY;
console.log(`load average ${loadavg().map((l) => l.toFixed(1)).join(" ")} on ${(await import("node:os")).cpus().length} CPUs`);
console.log(`| document | cost | HTTP | answer | "id"s in the answer | SQL statements | time | RSS after |`);
console.log(`|---|---|---|---|---|---|---|---|`);
for (const { name, query } of documents) {
  if (only && !name.includes(only)) continue;
  const cost = Math.max(...operationCosts(schema, parse(query), {}).values());
  let statements = 0;
  const stop = onQuery(() => (statements += 1));
  const started = performance.now();
  const result = await gql(query);
  const ms = performance.now() - started;
  stop();
  const answer = result.body.errors ? `${result.body.errors[0]?.extensions?.code} ${result.body.errors[0]?.extensions?.reason ?? ""}` : "data";
  const objects = (result.text.match(/"id":/g) ?? []).length;
  const rss = Math.round(process.memoryUsage().rss / 2 ** 20);
  console.log(`| ${name} | ${cost} | ${result.status} | ${answer} | ${objects} | ${statements} | ${ms.toFixed(0)} ms | ${rss} MB |`);
}
await db.close();

/**
 * `npm run bench:shield`: what authorization costs on a large list. The same query (a page of 100 invitations with
 * role and inviter) runs in-process against three executable schemas built from the same Pothos schema:
 *   bare        no rules at all (the floor; not a server anyone should run)
 *   shield      graphql-shield applied with graphql-middleware as usual (every field wrapped)
 *   protected   what the server runs: src/permissions protectSchema (open fields unwrapped)
 * On PGlite (memory) by default, PostgreSQL with DATABASE_URL. BENCH_REQUESTS=600 by default.
 */
import { applyMiddleware } from "../src/permissions/shield.js";
import { createYoga } from "graphql-yoga";
import type { GraphQLSchema } from "graphql";
import { signDevToken, createTokenVerifier } from "../src/auth/token.js";
import { upsertViewer } from "../src/auth/viewer.js";
import { loadConfig } from "../src/config.js";
import { openDatabase } from "../src/db/client.js";
import { migrate } from "../src/db/migrate.js";
import { uuidv7 } from "../src/ids.js";
import { createLoaders } from "../src/loaders.js";
import { connectionArgsMiddleware } from "../src/pagination.js";
import { permissionsFor, protectSchema } from "../src/permissions/index.js";
import { schema } from "../src/schema/index.js";

const requests = Number(process.env.BENCH_REQUESTS ?? 600);
const config = loadConfig({ ...process.env, NODE_ENV: "production", JWT_SECRET: "bench-secret-0123456789-0123456789-0123", PGLITE_DATA_DIR: "memory://" });
const db = await openDatabase(config.database);
const session = await db.session();
await migrate(session);
await session.release();

const verify = createTokenVerifier(config.jwt);
const serve = (executable: GraphQLSchema) =>
  createYoga({
    schema: executable,
    logging: false,
    context: async ({ request }) => {
      const viewer = await upsertViewer(await verify(request.headers.get("authorization")!.slice("Bearer ".length)));
      return { requestId: "bench", viewer, loaders: createLoaders(viewer), settings: { invitationTtlHours: 168 } };
    },
  });
const servers = {
  bare: serve(schema),
  shield: serve(applyMiddleware(schema, permissionsFor(schema), connectionArgsMiddleware)),
  protected: serve(protectSchema(schema, connectionArgsMiddleware)),
};

const token = await signDevToken(config.jwt.secret!, { sub: `bench|${uuidv7()}`, email: `owner-${uuidv7()}@bench.test`, name: "Owner" });
const call = async (server: (typeof servers)["bare"], query: string, variables: Record<string, unknown> = {}) => {
  const response = await server.fetch("http://bench/graphql", {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as { data?: any; errors?: unknown[] };
  if (body.errors) throw new Error(JSON.stringify(body.errors));
  return body.data;
};

const orgId = (await call(servers.protected, `mutation { createOrganization(input: { name: "Shield bench" }) { organization { id } } }`))
  .createOrganization.organization.id;
const org = await db.prisma.organization.findFirstOrThrow({ where: { name: "Shield bench" }, include: { roles: true }, orderBy: { createdAt: "desc" } });
const owner = await db.prisma.membership.findFirstOrThrow({ where: { organizationId: org.id } });
await db.prisma.invitation.createMany({
  data: Array.from({ length: 100 }, (_, i) => ({
    id: uuidv7(),
    organizationId: org.id,
    email: `seed-${i}-${uuidv7()}@bench.test`,
    roleId: org.roles.find((r) => r.key === "member")!.id,
    invitedById: owner.userId,
    tokenHash: uuidv7(),
    expiresAt: new Date(Date.now() + 86_400_000),
  })),
});

const query = /* GraphQL */ `
  query ($id: ID!) {
    organization(id: $id) {
      invitations(first: 100) {
        totalCount
        edges { cursor node { id email status createdAt expiresAt metadata role { key name } invitedBy { name avatarUrl } } }
      }
    }
  }`;

const rows: string[] = [];
for (const [name, server] of Object.entries(servers)) {
  for (let i = 0; i < 50; i += 1) await call(server, query, { id: orgId });
  const start = performance.now();
  for (let i = 0; i < requests; i += 5) await Promise.all(Array.from({ length: 5 }, () => call(server, query, { id: orgId })));
  const ms = (performance.now() - start) / requests;
  rows.push(`| ${name} | ${ms.toFixed(2)} | ${Math.round(1000 / ms)} |`);
}
process.stdout.write(
  [`Database: ${config.database.kind}; ${requests} requests, 5 at a time; page of 100 invitations`, "", "| schema | ms per request | requests/s |", "|---|---:|---:|", ...rows, ""].join("\n"),
);
await db.close();

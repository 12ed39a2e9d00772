/**
 * The ceiling: a hand-written handler for the benchmark's A and B on the same data, to measure the server against.
 * Plain node:http and one SQL statement per request (pg, or PGlite when there is no DATABASE_URL), the token
 * verified with the same secret, and the authorization check inside the statement. It answers the same JSON the
 * server does for these two operations (chosen by operationName) and nothing else: no GraphQL, no validation.
 * Run by bench/run.ts as a child process, with the same IPC counters as bench/server.ts.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { PGlite } from "@electric-sql/pglite";
import { jwtVerify } from "jose";
import pg from "pg";
import { Meter, type BenchMessage } from "./meter.js";

type Query = (sql: string, params: unknown[]) => Promise<Record<string, any>[]>;

const meter = new Meter();
const secret = new TextEncoder().encode(process.env.JWT_SECRET!);
let query: Query;
let close: () => Promise<void>;
if (process.env.DATABASE_URL) {
  const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: Number(process.env.DATABASE_POOL_SIZE ?? 10) });
  query = async (sql, params) => (await pool.query(sql, params)).rows;
  close = () => pool.end();
} else {
  const pglite = await PGlite.create(process.env.PGLITE_DATA_DIR!);
  query = async (sql, params) => (await pglite.query<Record<string, any>>(sql, params)).rows;
  close = () => pglite.close();
}

async function timed(sql: string, params: unknown[]) {
  const start = performance.now();
  const rows = await query(sql, params);
  meter.statement(performance.now() - start);
  return rows;
}

const gid = (type: string, id: string) => Buffer.from(`${type}:${id}`).toString("base64url");
const rawId = (globalId: string) => Buffer.from(globalId, "base64url").toString().split(":")[1]!;

const PENDING = `
  WITH page AS (
    SELECT i.id, i."createdAt", i."organizationId", i."roleId", i."invitedById" FROM "Invitation" i
     WHERE i.email = $1 AND i.status = 'PENDING' AND i."expiresAt" > now() AND i."deletedAt" IS NULL
     ORDER BY i."createdAt" DESC, i.id DESC LIMIT $2
  )
  SELECT (SELECT count(*)::int FROM "Invitation"
           WHERE email = $1 AND status = 'PENDING' AND "expiresAt" > now() AND "deletedAt" IS NULL) AS total,
         (SELECT coalesce(json_agg(json_build_object(
                   'id', p.id,
                   'organization', json_build_object('name', o.name, 'logoUrl', o."logoUrl",
                     'memberCount', (SELECT count(*) FROM "Membership" m WHERE m."organizationId" = o.id)),
                   'role', json_build_object('key', r.key),
                   'invitedBy', CASE WHEN u.id IS NULL THEN NULL ELSE json_build_object('name', u.name) END)
                 ORDER BY p."createdAt" DESC, p.id DESC), '[]')
            FROM page p JOIN "Organization" o ON o.id = p."organizationId" JOIN "Role" r ON r.id = p."roleId"
            LEFT JOIN "User" u ON u.id = p."invitedById") AS edges`;

const invitationsSql = (withCursor: boolean) => `
  WITH allowed AS (
    SELECT 1 FROM "Membership" m JOIN "User" u ON u.id = m."userId" JOIN "Role" r ON r.id = m."roleId"
     WHERE u.sub = $2 AND m."organizationId" = $1 AND 'invitations:read' = ANY (r.permissions)
  ), page AS (
    SELECT i.id, i."createdAt", i.email, i.status, i."expiresAt", i."roleId", i."invitedById" FROM "Invitation" i
     WHERE i."organizationId" = $1 AND i."deletedAt" IS NULL AND EXISTS (SELECT 1 FROM allowed)
       ${withCursor ? `AND (i."createdAt", i.id) < ($4::timestamptz, $5::uuid)` : ""}
     ORDER BY i."createdAt" DESC, i.id DESC LIMIT $3
  )
  SELECT EXISTS (SELECT 1 FROM allowed) AS allowed,
         (SELECT count(*)::int FROM "Invitation" WHERE "organizationId" = $1 AND "deletedAt" IS NULL) AS total,
         (SELECT coalesce(json_agg(json_build_object(
                   'id', p.id, 'createdAt', p."createdAt", 'email', p.email,
                   'status', CASE WHEN p.status = 'PENDING' AND p."expiresAt" <= now() THEN 'EXPIRED' ELSE p.status::text END,
                   'role', json_build_object('key', r.key),
                   'invitedBy', CASE WHEN u.id IS NULL THEN NULL ELSE json_build_object('name', u.name) END,
                   'groups', (SELECT coalesce(json_agg(json_build_object('name', g.name) ORDER BY g.name), '[]')
                                FROM "_InvitationGroups" ig JOIN "Group" g ON g.id = ig."A" WHERE ig."B" = p.id))
                 ORDER BY p."createdAt" DESC, p.id DESC), '[]')
            FROM page p JOIN "Role" r ON r.id = p."roleId" LEFT JOIN "User" u ON u.id = p."invitedById") AS edges`;

/** The server's cursor format (src/schema/connections.ts), so the same request bodies work on both. */
function decodeCursor(cursor: string): [string, string] {
  const [, ms, id] = Buffer.from(cursor, "base64url").toString().split(":");
  return [new Date(Number(ms)).toISOString(), id!];
}
const encodeCursor = (createdAt: string, id: string) => Buffer.from(`k1:${new Date(createdAt).getTime()}:${id}`).toString("base64url");

async function answer(body: { operationName?: string; variables?: Record<string, any> }, claims: { sub: string; email: string }) {
  const variables = body.variables ?? {};
  if (body.operationName === "Pending") {
    const [row] = await timed(PENDING, [claims.email, variables.first ?? 20]);
    const edges = (row!.edges as any[]).map((e) => ({ node: { ...e, id: gid("Invitation", e.id) } }));
    return { data: { pendingInvitations: { totalCount: row!.total, edges } } };
  }
  if (body.operationName === "Invitations") {
    const after = variables.after ? decodeCursor(variables.after) : null;
    const params = [rawId(variables.id), claims.sub, variables.first ?? 20, ...(after ?? [])];
    const [row] = await timed(invitationsSql(after != null), params);
    if (!row!.allowed) return { errors: [{ message: "Not found", extensions: { code: "NOT_FOUND" } }], data: null };
    const list = row!.edges as any[];
    const edges = list.map(({ createdAt, ...node }) => ({ node: { ...node, id: gid("Invitation", node.id) } }));
    const last = list.at(-1);
    return {
      data: {
        organization: {
          invitations: {
            totalCount: row!.total,
            pageInfo: { endCursor: last ? encodeCursor(last.createdAt, last.id) : null },
            edges,
          },
        },
      },
    };
  }
  return { errors: [{ message: "The ceiling answers Pending and Invitations only." }] };
}

async function handle(request: IncomingMessage, response: ServerResponse) {
  let text = "";
  for await (const chunk of request) text += chunk;
  try {
    const token = /^Bearer (.+)$/.exec(request.headers.authorization ?? "")?.[1] ?? "";
    const { payload } = await jwtVerify(token, secret);
    const result = await answer(JSON.parse(text), payload as { sub: string; email: string });
    response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(result));
  } catch (error) {
    response.writeHead(401, { "content-type": "application/json" }).end(JSON.stringify({ errors: [{ message: String(error) }] }));
  } finally {
    meter.request();
  }
}

const http = createServer((request, response) => void handle(request, response));
await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
process.send!({ type: "ready-ceiling", url: `http://127.0.0.1:${(http.address() as AddressInfo).port}/graphql` } satisfies BenchMessage);
process.on("message", (message: BenchMessage) => {
  if (message.type === "reset") meter.reset();
  else if (message.type === "stats") process.send!({ type: "stats", stats: meter.read() } satisfies BenchMessage);
  else if (message.type === "stop") {
    http.close(() => void close().then(() => process.exit(0)));
    http.closeAllConnections();
  }
});

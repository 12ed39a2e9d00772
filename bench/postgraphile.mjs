/**
 * The PostGraphile v5 peer of `npm run bench` (BENCH_PEERS=postgraphile, PostgreSQL only). bench/run.ts installs
 * PostGraphile into a cache folder outside the repository (never into package.json or the lockfile), copies this
 * file there so that its imports resolve against that folder's node_modules, and forks it. Plain JavaScript for the
 * same reason: it runs without the repository's tsx.
 *
 * PostGraphile serves the same database with its "amber" preset (introspected schema, Relay connections, cursors of
 * its own) over its own node:http server (grafserv), with a pg pool of the same size as the server's. The bearer token
 * is verified (HS256, expiry) before the request reaches PostGraphile, so that every target pays for that; it grants
 * nothing: PostGraphile connects as the database owner and has no per-user authorization here (no row-level security
 * policies), so the organization and the e-mail address come as arguments. The same IPC counters as bench/server.ts:
 * requests, SQL statements and their time as the client sees them, CPU time, peak RSS.
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import { createServer } from "node:http";
import pg from "pg";
import { postgraphile } from "postgraphile";
import { makePgService } from "postgraphile/adaptors/pg";
import { grafserv } from "postgraphile/grafserv/node";
import { PostGraphileAmberPreset } from "postgraphile/presets/amber";

class Meter {
  constructor() {
    this.reset();
    setInterval(() => {
      this.peakRss = Math.max(this.peakRss, process.memoryUsage.rss());
    }, 50).unref();
  }
  reset() {
    this.requests = 0;
    this.statements = 0;
    this.dbMs = 0;
    this.cpu = process.cpuUsage();
    this.peakRss = process.memoryUsage.rss();
  }
  read() {
    const cpu = process.cpuUsage(this.cpu);
    return {
      requests: this.requests,
      statements: this.statements,
      dbMs: this.dbMs,
      cpuMs: (cpu.user + cpu.system) / 1000,
      peakRssMb: Math.round(Math.max(this.peakRss, process.memoryUsage.rss()) / 1048576),
    };
  }
}
const meter = new Meter();

/** A pg client that counts and times every statement PostGraphile sends. */
class CountingClient extends pg.Client {
  query(...args) {
    const start = performance.now();
    const result = super.query(...args);
    if (result && typeof result.then === "function") {
      const done = () => {
        meter.statements += 1;
        meter.dbMs += performance.now() - start;
      };
      result.then(done, done);
    }
    return result;
  }
}

const pool = new pg.Pool({
  connectionString: process.env.DATABASE_URL,
  max: Number(process.env.DATABASE_POOL_SIZE ?? 10),
  Client: CountingClient,
});

const preset = {
  extends: [PostGraphileAmberPreset],
  // By default PostGraphile offers conditions and orderings only on indexed columns; the benchmark's lists filter on
  // status and deletedAt (covered by partial indexes PostGraphile does not look into).
  disablePlugins: ["PgIndexBehaviorsPlugin"],
  pgServices: [makePgService({ pool, schemas: ["public"] })],
  grafserv: { graphqlPath: "/graphql", graphiql: false, watch: false },
  grafast: { explain: false },
};
const pgl = postgraphile(preset);
await pgl.getSchema();
const handle = pgl.createServ(grafserv).createHandler();

const secret = Buffer.from(process.env.JWT_SECRET);
/** HS256 with an expiry, as the server and the ceiling check it. */
function verified(header) {
  const token = /^Bearer (.+)$/.exec(header ?? "")?.[1];
  if (!token) return false;
  const [head, payload, signature] = token.split(".");
  if (!signature) return false;
  const expected = createHmac("sha256", secret).update(`${head}.${payload}`).digest();
  const given = Buffer.from(signature, "base64url");
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return false;
  const claims = JSON.parse(Buffer.from(payload, "base64url").toString());
  return typeof claims.exp !== "number" || claims.exp * 1000 > Date.now();
}

const http = createServer((request, response) => {
  response.once("close", () => meter.requests++);
  if (!verified(request.headers.authorization)) {
    response.writeHead(401, { "content-type": "application/json" }).end(JSON.stringify({ errors: [{ message: "Unauthenticated" }] }));
    return;
  }
  handle(request, response);
});
http.keepAliveTimeout = 120_000;
await new Promise((resolve) => http.listen(0, "127.0.0.1", resolve));
process.send({ type: "ready-peer", url: `http://127.0.0.1:${http.address().port}/graphql` });
process.on("message", (message) => {
  if (message.type === "reset") meter.reset();
  else if (message.type === "stats") process.send({ type: "stats", stats: meter.read() });
  else if (message.type === "stop") {
    http.close(() => void pgl.release().then(() => pool.end()).then(() => process.exit(0)));
    http.closeAllConnections();
  }
});

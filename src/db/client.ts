/**
 * The database: embedded PGlite (no DATABASE_URL) or PostgreSQL through a pg pool, behind one generated Prisma client.
 * The client is a module-level value, not part of the GraphQL context (keeps context types light, per STYLE.md).
 */
import { mkdir } from "node:fs/promises";
import { PGlite } from "@electric-sql/pglite";
import { PrismaPg } from "@prisma/adapter-pg";
import pg from "pg";
import { PrismaPGlite } from "pglite-prisma-adapter";
import type { Config } from "../config.js";
import { PrismaClient } from "../generated/prisma/client.js";
import { recordQuery } from "./query-log.js";

/** One connection for raw SQL (migrations, advisory locks). */
export interface SqlSession {
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  /** Runs a script of several statements. */
  exec(sql: string): Promise<void>;
  release(): Promise<void>;
}

export interface Database {
  kind: "pglite" | "postgres";
  prisma: PrismaClient;
  /** A dedicated connection; PGlite has only one, so there it is shared. */
  session(): Promise<SqlSession>;
  /** Cheap round trip for readiness checks. */
  ping(): Promise<void>;
  /**
   * Refreshes planner statistics where nothing else does (PGlite has no autovacuum); a no-op on PostgreSQL, whose
   * autovacuum owns this. Run after migrations; PGlite also runs it periodically while open.
   */
  analyze(): Promise<void>;
  /** Connection counts of the pool, for metrics; PGlite has no pool. */
  poolStats?(): { total: number; idle: number; waiting: number; max: number };
  close(): Promise<void>;
}

export interface OpenOptions {
  /** For tests: start PGlite from a dump made with `dumpDataDir()`. */
  loadDataDir?: Blob | File;
}

let current: Database | undefined;

const PGLITE_ANALYZE_INTERVAL_MS = 10 * 60_000;

/**
 * The Prisma client of the open database. A proxy so that modules can import it once at load time and
 * still reach the database opened later (or re-opened by a test).
 */
export const prisma: PrismaClient = new Proxy({} as PrismaClient, {
  has(_target, property) {
    return property in currentDatabase().prisma;
  },
  get(_target, property) {
    if (!current) throw new Error("The database is not open (call openDatabase first)");
    const client = current.prisma;
    const value = Reflect.get(client, property, client) as unknown;
    return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(client) : value;
  },
});

export function currentDatabase(): Database {
  if (!current) throw new Error("The database is not open (call openDatabase first)");
  return current;
}

export async function openDatabase(config: Config["database"], options: OpenOptions = {}): Promise<Database> {
  const db = config.kind === "postgres" ? openPostgres(config.url, config.poolSize) : await openPGlite(config.dataDir, options);
  current = db;
  return db;
}

function newPrismaClient(adapter: PrismaPg): PrismaClient {
  const client = new PrismaClient({
    adapter,
    log: [{ level: "query", emit: "event" }],
    // Prisma's defaults (2 s to get a connection, 5 s per transaction) turned a CPU-starved burst into
    // "Transaction not found" errors in a benchmark; our transactions are a few statements, so these only matter
    // under overload, where waiting a little is better than failing.
    transactionOptions: { maxWait: 5_000, timeout: 10_000 },
  });
  client.$on("query", (event) => recordQuery(event.query));
  return client;
}

function openPostgres(url: string, poolSize: number): Database {
  const pool = new pg.Pool({ connectionString: url, max: poolSize, connectionTimeoutMillis: 5_000 });
  // An idle client losing its connection (database restart) must not crash the process.
  pool.on("error", () => {});
  const prisma = newPrismaClient(new PrismaPg(pool));
  return {
    kind: "postgres",
    prisma,
    async session() {
      const client = await pool.connect();
      return {
        async query<T>(sql: string, params?: unknown[]) {
          return (await client.query(sql, params)).rows as T[];
        },
        async exec(sql: string) {
          await client.query(sql);
        },
        async release() {
          client.release();
        },
      };
    },
    async ping() {
      await pool.query("SELECT 1");
    },
    async analyze() {},
    poolStats: () => ({ total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount, max: poolSize }),
    async close() {
      await prisma.$disconnect();
      await pool.end();
      if (current?.prisma === prisma) current = undefined;
    },
  };
}

async function openPGlite(dataDir: string, options: OpenOptions): Promise<Database> {
  if (!dataDir.startsWith("memory://")) await mkdir(dataDir, { recursive: true });
  const pglite = await PGlite.create(dataDir, options.loadDataDir ? { loadDataDir: options.loadDataDir } : {});
  // pglite-prisma-adapter is typed against an older @prisma/driver-adapter-utils.
  const prisma = newPrismaClient(new PrismaPGlite(pglite) as never);
  const analyze = async () => {
    await pglite.exec("ANALYZE");
  };
  // The lists' plans hold without statistics (see src/schema/connections.ts), but the rest of the planner does
  // better with them, and on PGlite nothing else collects them as data grows. ANALYZE samples, so it stays cheap.
  const maintenance = setInterval(() => void analyze().catch(() => {}), PGLITE_ANALYZE_INTERVAL_MS);
  maintenance.unref();
  return {
    kind: "pglite",
    prisma,
    async session() {
      return {
        async query<T>(sql: string, params?: unknown[]) {
          return (await pglite.query<T>(sql, params)).rows;
        },
        async exec(sql: string) {
          await pglite.exec(sql);
        },
        async release() {},
      };
    },
    async ping() {
      await pglite.query("SELECT 1");
    },
    analyze,
    async close() {
      clearInterval(maintenance);
      await prisma.$disconnect();
      await pglite.close();
      if (current?.prisma === prisma) current = undefined;
    },
  };
}

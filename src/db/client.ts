/**
 * The database: embedded PGlite (no DATABASE_URL) or PostgreSQL through a pg pool, behind one generated Prisma client.
 * The client is a module-level value, not part of the GraphQL context (keeps context types light, per STYLE.md).
 */
import { createHash } from "node:crypto";
import { mkdir } from "node:fs/promises";
import { PGlite } from "@electric-sql/pglite";
import type { PrismaPg } from "@prisma/adapter-pg";
import type pg from "pg";
import { PrismaPGlite } from "pglite-prisma-adapter";
import { DATABASE_TIMEOUT_DEFAULTS, type Config, type DatabaseTimeouts } from "../config.js";
import { PrismaClient } from "../generated/prisma/client.js";
import { pgliteStartParams } from "./pglite-settings.js";
import { countingAdapter, recorded } from "./query-log.js";
import { extractTemplate, holdsDatabase, loadTemplate } from "./template.js";

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
  /**
   * Runs one read statement through Prisma's driver adapter (the one the client uses, on the same pool, counted by
   * src/db/query-log.ts), skipping the client's request pipeline. For the hot reads whose SQL is compiled once
   * (src/db/read-sql.ts, the lists): `$queryRawUnsafe` spent about 0.18 ms more CPU per call on the client's side
   * (scratch measurement, 0.26 against 0.08 ms). Values come as the adapter gives them: timestamps and JSON as text.
   */
  read(sql: string, args: unknown[]): Promise<Record<string, unknown>[]>;
  /** A dedicated connection without the request time limits; PGlite has only one, so there it is shared. */
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
  /**
   * The migrated template a new PGlite folder starts from when it matches the migrations on disk (src/db/template.ts):
   * the build's by default, another file (tests), or false for initdb whatever the build holds.
   */
  template?: string | false;
}

let current: Database | undefined;

const PGLITE_ANALYZE_INTERVAL_MS = 10 * 60_000;
const PGLITE_FIRST_ANALYZE_MS = 60_000;

/** Every table outside PostgreSQL's own schemas, as one comma-separated list of quoted names (null: none). */
const APPLICATION_TABLES = `
SELECT string_agg(format('%I.%I', n.nspname, c.relname), ', ') AS tables
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p', 'm') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'`;

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

/** What `openDatabase` needs: the parsed configuration, where PostgreSQL's timeouts may be left to their defaults. */
export type DatabaseConfig =
  | { kind: "postgres"; url: string; poolSize: number; timeouts?: Partial<DatabaseTimeouts>; preparedStatements?: boolean }
  | Extract<Config["database"], { kind: "pglite" }>;

export async function openDatabase(config: DatabaseConfig, options: OpenOptions = {}): Promise<Database> {
  const db =
    config.kind === "postgres"
      ? await openPostgres(config.url, config.poolSize, { ...DATABASE_TIMEOUT_DEFAULTS, ...config.timeouts }, config.preparedStatements ?? true)
      : await openPGlite(config.dataDir, options);
  current = db;
  return db;
}

/** Prisma's defaults (2 s to get a connection, 5 s per transaction) turned a CPU-starved burst on PGlite into "Transaction not found". */
const PGLITE_TRANSACTION_OPTIONS = { maxWait: 5_000, timeout: 10_000 };

/** `adapter` is wrapped by countingAdapter: statements are counted there, not by Prisma's query log, which cost more CPU. */
function newPrismaClient(adapter: PrismaPg, transactionOptions: { maxWait: number; timeout: number }): PrismaClient {
  return new PrismaClient({ adapter, transactionOptions });
}

interface RawResult {
  columnNames: string[];
  rows: unknown[][];
}

interface Readable {
  queryRaw(query: { sql: string; args: unknown[]; argTypes: unknown[] }): Promise<RawResult>;
}

const PLAIN_ARGUMENT = { scalarType: "unknown", arity: "scalar" } as const;

/** `Database.read` over an adapter of `factory`, connected once on first use. */
function readerOf(factory: { connect(): Promise<unknown> }): Database["read"] {
  let adapter: Promise<Readable> | undefined;
  return async (sql, args) => {
    const connected = await (adapter ??= factory.connect() as Promise<Readable>);
    // Plain values (text, numbers, arrays of them) need no conversion: adapter-pg passes them through as they are.
    const values = args.map((arg) => (arg instanceof Date ? arg.toISOString() : arg));
    const { columnNames, rows } = await connected.queryRaw({ sql, args: values, argTypes: values.map(() => PLAIN_ARGUMENT) });
    return rows.map((row) => {
      const record: Record<string, unknown> = {};
      for (let i = 0; i < columnNames.length; i += 1) record[columnNames[i]!] = row[i];
      return record;
    });
  };
}

/** At most this many statement texts get a name; the rest run unnamed (see preparedReader). */
export const PREPARED_LIMIT = 200;

/**
 * `Database.read` on PostgreSQL: each statement as a named prepared statement on the pool, straight through pg.
 * The hot reads' texts are fixed per query shape (src/db/read-sql.ts, src/loaders.ts), so PostgreSQL parses and
 * plans each once per connection (and, after five executions, keeps a generic plan when planning for the values
 * buys nothing) instead of at every call: planning took about 0.6 ms of the database's CPU for an admin's page of
 * 50, a fifth of its time, on a database that the server and its peers share two cores with in the benchmark. A
 * name is a hash of the text; only the first PREPARED_LIMIT texts get one, so a stream of distinct shapes cannot
 * fill every connection's memory (later ones run unnamed, planned per call as before). Statements are counted and
 * timed as the adapter counts Prisma's (src/db/query-log.ts); errors are pg's own, which src/errors.ts reads like
 * the adapter's. Values come as pg types them: timestamps as Date, JSON parsed, int8 as text.
 */
function preparedReader(pool: { query(config: { name?: string; text: string; values: unknown[] }): Promise<{ rows: Record<string, unknown>[] }> }): Database["read"] {
  const names = new Map<string, string>();
  return async (sql, args) => {
    let name = names.get(sql);
    if (name === undefined && names.size < PREPARED_LIMIT) {
      name = `read_${createHash("sha256").update(sql).digest("base64url").slice(0, 24)}`;
      names.set(sql, name);
    }
    const values = args.map((arg) => (arg instanceof Date ? arg.toISOString() : arg));
    const config = name === undefined ? { text: sql, values } : { name, text: sql, values };
    return (await recorded(sql, () => pool.query(config))).rows;
  };
}

/** A JSON column as `Database.read` returns it: parsed by pg, text from the PGlite adapter. */
export function jsonOf<T>(value: unknown): T {
  return (typeof value === "string" ? JSON.parse(value) : value) as T;
}

/**
 * A timestamp as `Database.read` returns it: adapter-pg writes the offset ("2026-11-29T20:29:38.565+00:00"), the
 * PGlite adapter writes UTC without one ("2026-11-29 20:29:45.362"), which `new Date` would read as local time.
 */
export function timestampOf(value: unknown): Date {
  if (value instanceof Date) return value;
  const text = String(value);
  return new Date(/(Z|[+-]\d\d(:?\d\d)?)$/i.test(text) ? text : `${text.replace(" ", "T")}Z`);
}

/** Database.read on the open database. */
export function readRows<T = Record<string, unknown>>(sql: string, args: unknown[]): Promise<T[]> {
  return currentDatabase().read(sql, args) as Promise<T[]>;
}

/**
 * A pg client that throws its connection away when a query outlives `query_timeout`. pg answers the caller with
 * "Query read timeout" but keeps the connection, with the unanswered statement still on the wire: handed back to the
 * pool (adapter-pg releases a transaction's client without an error), the next statement on it would wait behind the
 * lost one, or read its answer. Destroying the socket marks the client unqueryable, so whatever follows on it (Prisma's
 * ROLLBACK) fails at once instead of waiting out another timeout, and the pool discards it on release.
 */
const guardedClient = (pg: PgModule) => class GuardedClient extends pg.Client {
  constructor(config?: string | pg.ClientConfig) {
    super(config);
    // A severed connection emits "error"; while checked out nobody else may be listening, and an unheard "error"
    // would crash the process. The failure itself reaches the caller through the query.
    this.on("error", () => {});
  }

  override query(...args: unknown[]): any {
    const sever = (error: unknown) => {
      if (error instanceof Error && error.message === "Query read timeout") {
        (this as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream?.destroy();
      }
    };
    const last = args.at(-1);
    if (typeof last === "function") {
      args[args.length - 1] = (error: unknown, result: unknown) => {
        sever(error);
        (last as (error: unknown, result: unknown) => void)(error, result);
      };
      return (super.query as (...a: unknown[]) => unknown)(...args);
    }
    const result = (super.query as (...a: unknown[]) => unknown)(...args);
    if (result instanceof Promise) {
      return result.catch((error: unknown) => {
        sever(error);
        throw error;
      });
    }
    return result;
  }
};

type PgModule = typeof pg;

/**
 * pg and its Prisma adapter are imported here, when PostgreSQL is opened: on PGlite they are never used, and loading
 * pg costs a start 50-90 ms of CPU on Node 20 (its check for Cloudflare Workers constructs a Response, which loads
 * Node's fetch implementation).
 */
async function openPostgres(url: string, poolSize: number, timeouts: DatabaseTimeouts, preparedStatements: boolean): Promise<Database> {
  const [{ default: pg }, { PrismaPg }] = await Promise.all([import("pg"), import("@prisma/adapter-pg")]);
  const pool = new pg.Pool({
    connectionString: url,
    max: poolSize,
    Client: guardedClient(pg),
    // Bounds both the wait for a free slot and the opening of a new connection (a frozen host accepts the TCP
    // connection in its kernel and then never answers the start-up message).
    connectionTimeoutMillis: timeouts.connectTimeoutMs,
    // Sent in the start-up message, so it holds for every statement on every connection, Prisma's and raw SQL alike.
    statement_timeout: timeouts.statementTimeoutMs,
    query_timeout: timeouts.queryTimeoutMs,
    // Lets the kernel notice a peer that vanished (host down, network cut) on an idle pooled connection.
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
    // A statement whose client went away (an instance killed mid-request) must not run on to completion: createInvitation
    // writes in ONE statement outside any transaction, which PostgreSQL would otherwise finish, and commit, once the
    // locks it waits for are granted. With this PostgreSQL (14 and later) checks the client's socket every second while a
    // statement runs, and ends it when the client is gone. Set per connection, not in the start-up message, so that
    // where it is refused (an older server, a platform without the check) the connection still opens: there, as before
    // 14, a statement already running runs to its end.
    // Awaited by the pool before the connection is handed out (a "connect" listener's statement would run beside
    // the first query, which pg 8 warns about and pg 9 refuses).
    onConnect: async (client) => {
      await client.query("SET client_connection_check_interval = 1000").catch(() => {});
    },
  });
  // An idle client losing its connection (database restart) must not crash the process.
  pool.on("error", () => {});
  // Waiting for a transaction's connection is bounded by the pool (connect timeout) and its BEGIN by the query
  // timeout; Prisma's own limits sit just above them so that the pool's clearer errors come first. A transaction
  // runs a few short statements, each bounded by the statement timeout.
  const factory = countingAdapter(new PrismaPg(pool));
  const prisma = newPrismaClient(factory, {
    maxWait: timeouts.connectTimeoutMs + timeouts.queryTimeoutMs,
    timeout: Math.max(10_000, timeouts.queryTimeoutMs * 2),
  });
  return {
    kind: "postgres",
    prisma,
    read: preparedStatements ? preparedReader(pool) : readerOf(factory),
    async session() {
      // Its own connection, outside the pool and its time limits: a migration may run longer than any request, and
      // an instance waits on the migration lock for as long as another instance migrates.
      const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: timeouts.connectTimeoutMs, keepAlive: true });
      client.on("error", () => {});
      await client.connect();
      return {
        async query<T>(sql: string, params?: unknown[]) {
          return (await client.query(sql, params)).rows as T[];
        },
        async exec(sql: string) {
          await client.query(sql);
        },
        async release() {
          await client.end();
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
  let loadDataDir = options.loadDataDir;
  const inMemory = dataDir.startsWith("memory://");
  if (!inMemory) await mkdir(dataDir, { recursive: true });
  // A new database (a new folder, or in memory) starts from the migrated template made at build time, when it
  // matches the migrations on disk: unpacked into a new folder, or loaded by PGlite into memory.
  if (!loadDataDir && options.template !== false) {
    if (inMemory) loadDataDir = await loadTemplate(options.template);
    else if (!holdsDatabase(dataDir)) await extractTemplate(dataDir, options.template);
  }
  const pglite = await PGlite.create(dataDir, { startParams: pgliteStartParams(), ...(loadDataDir ? { loadDataDir } : {}) });
  // pglite-prisma-adapter is typed against an older @prisma/driver-adapter-utils.
  // No time limits here: PGlite runs each statement on the event loop, where no timer can interrupt it, and a
  // `SET statement_timeout` never fires. What bounds a request on PGlite is what is checked before execution.
  const factory = countingAdapter(new PrismaPGlite(pglite) as never as PrismaPg);
  const prisma = newPrismaClient(factory, PGLITE_TRANSACTION_OPTIONS);
  const analyze = async () => {
    // The application's tables only: a bare ANALYZE also samples every system catalog, which costs 0.5 s of CPU on
    // an empty database (against 0.08 s for these), and the catalogs' statistics come with the template or initdb.
    const tables = (await pglite.query<{ tables: string | null }>(APPLICATION_TABLES)).rows[0]?.tables;
    if (tables) await pglite.exec(`ANALYZE ${tables}`);
  };
  // The lists' plans hold without statistics (see src/schema/connections.ts), but the rest of the planner does
  // better with them, and on PGlite nothing else collects them as data grows. ANALYZE samples, so it stays cheap.
  // The first comes a minute after opening (what an earlier run wrote since its last ANALYZE), not at once: at
  // start-up it would stand in front of the first requests on PGlite's one connection.
  let maintenance = setTimeout(function again() {
    void analyze().catch(() => {});
    maintenance = setTimeout(again, PGLITE_ANALYZE_INTERVAL_MS).unref();
  }, PGLITE_FIRST_ANALYZE_MS).unref();
  return {
    kind: "pglite",
    prisma,
    read: readerOf(factory),
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
      clearTimeout(maintenance);
      await prisma.$disconnect();
      await pglite.close();
      if (current?.prisma === prisma) current = undefined;
    },
  };
}

/**
 * Counts the SQL statements sent to the database, with their time as the client sees it, so tests can pin how many
 * statements an operation costs and the benchmark can report them.
 *
 * Recorded at the driver adapter (`countingAdapter`), not through Prisma's `log: ["query"]` event: that event cost
 * about 0.24 ms of CPU per statement (measured with `$queryRawUnsafe`, 0.56 ms with it against 0.32 ms without),
 * more than a simple statement costs the pg driver, and it was paid on every statement in production too. Here a
 * statement costs a check of an empty set when nobody listens.
 */
type Listener = (sql: string, durationMs: number) => void;
const listeners = new Set<Listener>();

export function recordQuery(sql: string, durationMs = 0): void {
  for (const listener of listeners) listener(sql, durationMs);
}

/** Calls `listener` for every statement until the returned function is called. */
export function onQuery(listener: Listener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

interface SqlQuery {
  sql: string;
}

interface Queryable {
  queryRaw(query: SqlQuery): Promise<unknown>;
  executeRaw(query: SqlQuery): Promise<unknown>;
}

interface Transaction extends Queryable {
  readonly options: { usePhantomQuery: boolean };
  commit(): Promise<void>;
  rollback(): Promise<void>;
}

interface Adapter extends Queryable {
  startTransaction(isolationLevel?: string): Promise<Transaction>;
}

interface AdapterFactory {
  connect(): Promise<Adapter>;
}

/** Runs one statement, `sql`, recorded with its time while anyone listens (also for statements sent outside the adapter). */
export async function recorded<T>(sql: string, run: () => Promise<T>): Promise<T> {
  if (listeners.size === 0) return run();
  const start = performance.now();
  try {
    return await run();
  } finally {
    recordQuery(sql, performance.now() - start);
  }
}

/** Wraps a statement-running method so that each call is recorded while anyone listens. */
function timed<T extends Queryable>(target: T, method: "queryRaw" | "executeRaw"): T[typeof method] {
  const original = target[method].bind(target);
  return (query: SqlQuery) => recorded(query.sql, () => original(query));
}

function counting<T extends Queryable>(target: T): T {
  target.queryRaw = timed(target, "queryRaw");
  target.executeRaw = timed(target, "executeRaw");
  return target;
}

/**
 * A driver adapter factory whose adapters record every statement, transactions' BEGIN and COMMIT/ROLLBACK included
 * (adapter-pg sends BEGIN inside startTransaction and Prisma sends COMMIT as a statement; PGlite's adapter uses
 * "phantom" ones, which Prisma used to log without sending, so they are recorded here the same way).
 */
export function countingAdapter<F extends AdapterFactory>(factory: F): F {
  const connect = factory.connect.bind(factory);
  factory.connect = async () => {
    const adapter = counting(await connect());
    const startTransaction = adapter.startTransaction.bind(adapter);
    adapter.startTransaction = async (isolationLevel?: string) => {
      const start = performance.now();
      const tx = counting(await startTransaction(isolationLevel));
      if (listeners.size > 0) recordQuery("BEGIN", performance.now() - start);
      if (tx.options.usePhantomQuery) {
        const commit = tx.commit.bind(tx);
        const rollback = tx.rollback.bind(tx);
        tx.commit = async () => {
          recordQuery("COMMIT");
          return commit();
        };
        tx.rollback = async () => {
          recordQuery("ROLLBACK");
          return rollback();
        };
      }
      return tx;
    };
    return adapter;
  };
  return factory;
}

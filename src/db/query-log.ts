/**
 * Counts the SQL statements Prisma sends, so tests can pin how many statements an operation costs.
 * Listeners are cheap when none is registered.
 */
type Listener = (sql: string) => void;
const listeners = new Set<Listener>();

export function recordQuery(sql: string): void {
  for (const listener of listeners) listener(sql);
}

/** Calls `listener` for every statement until the returned function is called. */
export function onQuery(listener: Listener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

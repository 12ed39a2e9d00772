/**
 * Keyset pagination for every list of the contract: newest first, ties by id, i.e. ORDER BY ("createdAt" DESC,
 * id DESC), walked with a cursor holding both values, so a page after a cursor starts where the index is, however
 * far into the list it is.
 *
 * A page costs one statement whatever its size or the size of the list (`readPage`): the page's keys (id, createdAt)
 * with their LIMIT, the list's count in the same statement, hence the same snapshot (a count and a page read apart
 * disagreed under concurrent writes), and the page's rows with the columns and relations the selection reads, built
 * per key after the LIMIT, so PostgreSQL stops after the page even without planner statistics (PGlite never has
 * them).
 */
import type { FieldNode, GraphQLResolveInfo } from "graphql";
import { getNamedType, isObjectType, print } from "graphql";
import { queryFromInfo } from "@pothos/plugin-prisma";
import { readRows } from "../db/client.js";
import { checkAgainstPrisma, compileRowOf, decodeBatched, decodeRow, findManyWithPrisma, noteFallback } from "../db/read-sql.js";
import { BadUserInputError } from "../errors.js";
import { Prisma, type Invitation, type InvitationEvent, type Membership, type WebhookEndpoint } from "../generated/prisma/client.js";
import { UUID_RE } from "../ids.js";
import { fieldSelections, selectedColumnsAt, selectedFields } from "./columns.js";

/** The ordering every list of the contract uses: newest first, ties by id (ids are UUIDv7, so they sort by time too). */
export const NEWEST_FIRST = [{ createdAt: "desc" as const }, { id: "desc" as const }];

export const DEFAULT_PAGE_SIZE = 20;

/** A row's place in a list. */
export interface Keyset {
  createdAt: Date;
  id: string;
}

const CURSOR_VERSION = "k1";

/** Opaque to clients: base64url("k1:<createdAt in ms>:<uuid>"). */
export function encodeCursor(row: Keyset): string {
  return Buffer.from(`${CURSOR_VERSION}:${row.createdAt.getTime()}:${row.id}`, "utf8").toString("base64url");
}

/** The keyset a cursor holds, or null when the value is not a cursor this server issued. */
export function decodeCursor(value: unknown): Keyset | null {
  if (typeof value !== "string" || !/^[A-Za-z0-9_-]{1,100}$/.test(value)) return null;
  const parts = Buffer.from(value, "base64url").toString("utf8").split(":");
  if (parts.length !== 3 || parts[0] !== CURSOR_VERSION || !/^\d{1,15}$/.test(parts[1]!) || !UUID_RE.test(parts[2]!)) return null;
  const createdAt = new Date(Number(parts[1]));
  return Number.isNaN(createdAt.getTime()) ? null : { createdAt, id: parts[2]! };
}

export interface PageArgs {
  first?: number | null;
  last?: number | null;
  after?: string | null;
  before?: string | null;
}

interface PagePlan {
  /** `last`/`before`: read oldest-first from the cursor, then reverse. */
  backward: boolean;
  size: number;
  cursor: Keyset | null;
}

/** Sizes and cursors are checked by src/pagination.ts before any resolver runs; here only the combinations. */
function planPage(args: PageArgs): PagePlan {
  if (args.after != null && args.before != null) throw new BadUserInputError("before", "Give after or before, not both.");
  if (args.first != null && args.last != null) throw new BadUserInputError("last", "Give first or last, not both.");
  if (args.before != null && args.first != null) throw new BadUserInputError("first", "before pages backwards: use last with it.");
  if (args.after != null && args.last != null) throw new BadUserInputError("last", "after pages forwards: use first with it.");
  const backward = args.last != null || args.before != null;
  const raw = backward ? args.before : args.after;
  const cursor = raw == null ? null : decodeCursor(raw);
  if (raw != null && !cursor) throw new BadUserInputError(backward ? "before" : "after", "Not a cursor of this list.");
  return { backward, size: (backward ? args.last : args.first) ?? DEFAULT_PAGE_SIZE, cursor };
}

/** Whether the connection field's selection asks for `name` directly (through fragments too). */
function selects(info: GraphQLResolveInfo, name: string): boolean {
  const connection = getNamedType(info.returnType);
  const sets = fieldSelections(info);
  return isObjectType(connection) && selectedFields(connection, sets, info.fragments).has(name);
}

export interface ConnectionResult<T> {
  edges: { cursor: string; node: T }[];
  pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean; startCursor: string | null; endCursor: string | null };
  totalCount: number | (() => Promise<number>);
}

/**
 * The lists, by table: the time column they page on and their order. The contract's lists are newest first; an
 * invitation's timeline (InvitationEvent) reads oldest first.
 */
const LISTS = {
  Invitation: { time: "createdAt", newestFirst: true },
  Membership: { time: "createdAt", newestFirst: true },
  InvitationEvent: { time: "occurredAt", newestFirst: false },
  WebhookEndpoint: { time: "createdAt", newestFirst: true },
} as const;

type ListTable = keyof typeof LISTS;

/** A list over several values of one column (each value's rows paged by its own index range), e.g. organizations. */
export interface Partition {
  column: "organizationId";
  ids: readonly string[];
}

interface KeyRow {
  id: string | null;
  /** Milliseconds since the epoch (int8, which the driver may hand over as text). */
  createdAt: string | number | null;
  total: number | null;
  /** The row itself as JSON, when the page's statement builds it (compiled). */
  row?: unknown;
  /** Set on the rows holding a batched relation's related rows: its number. */
  batch?: number | null;
}

/**
 * The page's keys, (when asked for) the count, and (when `rows` compiles) the page's rows themselves, in one
 * statement and so from one snapshot. `where` is a condition on the table's rows (columns unqualified), the same for
 * both halves so the count is the count of the list paged. The page's subquery carries, besides its keys, the columns
 * the rows are built from; the rows are built from those, after its LIMIT: per-row work (relations, JSON) only for
 * the rows of the page, whatever the planner knows of the table.
 */
async function readPage(table: ListTable, where: Prisma.Sql, plan: PagePlan, withCount: boolean, partition?: Partition, rowQuery?: Record<string, unknown>) {
  // The alias keeps ORDER BY on the columns (the output column `id` is text, which no index orders).
  const tableSql = Prisma.raw(`"${table}" AS t`);
  const time = Prisma.raw(`t."${LISTS[table].time}"`);
  // Walking the list's own order, or against it for `last`/`before`.
  const descending = LISTS[table].newestFirst !== plan.backward;
  const keyset = plan.cursor
    ? Prisma.sql`AND (${time}, t."id") ${Prisma.raw(descending ? "<" : ">")} (${plan.cursor.createdAt.toISOString()}::timestamptz, ${plan.cursor.id}::uuid)`
    : Prisma.empty;
  const direction = Prisma.raw(descending ? "DESC" : "ASC");
  const limit = plan.size + 1;
  // The columns the rows are built from (compiled against the alias x0), carried by the page's subquery under their
  // own names beside its keys (`__id`, `__time`, `__total`, which no column of the schema is called).
  const shape = rowQuery ? compileRowOf(table, rowQuery, 0, true) : null;
  if (rowQuery && !shape) noteFallback(table, rowQuery);
  const carried = shape?.columns ?? [];
  const carry = (alias: string) => Prisma.raw(carried.map((column) => `, ${alias}."${column}"`).join(""));
  let page: Prisma.Sql;
  let countWhere = where;
  if (partition) {
    // One list over several partitions (the organizations of viewer.managedInvitations): each partition's first
    // `limit` keys from its own index range, then the first `limit` of those. PostgreSQL cannot walk one index in
    // (createdAt, id) order across `organizationId = ANY(…)`, so without this it would read every row of every
    // partition and sort them; this way a page costs at most partitions × (page size + 1) index entries.
    const column = Prisma.raw(`t."${partition.column}"`);
    const ids = Prisma.sql`${[...partition.ids]}::uuid[]`;
    page = Prisma.sql`(SELECT k."__id", k."__time", NULL::int AS "__total"${carry("k")}
       FROM unnest(${ids}) AS p("value")
       CROSS JOIN LATERAL (SELECT t."id" AS "__id", ${time} AS "__time"${carry("t")} FROM ${tableSql}
         WHERE ${column} = p."value" AND ${where} ${keyset} ORDER BY ${time} ${direction}, t."id" ${direction} LIMIT ${limit}) AS k
       ORDER BY k."__time" ${direction}, k."__id" ${direction} LIMIT ${limit})`;
    countWhere = Prisma.sql`${column} = ANY(${ids}) AND ${where}`;
  } else {
    page = Prisma.sql`(SELECT t."id" AS "__id", ${time} AS "__time", NULL::int AS "__total"${carry("t")} FROM ${tableSql}
     WHERE ${where} ${keyset} ORDER BY ${time} ${direction}, t."id" ${direction} LIMIT ${limit})`;
  }
  const keysSql = withCount
    ? Prisma.sql`${page} UNION ALL (SELECT NULL, NULL, count(*)::int${Prisma.raw(carried.map(() => ", NULL").join(""))} FROM ${tableSql} WHERE ${countWhere})`
    : page;
  const row = rowQuery && shape ? compileRowOf(table, rowQuery, keysSql.values.length, true)! : null;
  // The keys' times as milliseconds since the epoch (columns are timestamptz(3), so exact): cheaper to read than text.
  const keyColumns = `SELECT x0."__id"::text AS id, round(date_part('epoch', x0."__time") * 1000)::int8 AS "createdAt", x0."__total" AS total`;
  let sql = `${keyColumns} FROM (${keysSql.text}) AS x0`;
  if (row) {
    const rowColumn = `CASE WHEN x0."__id" IS NOT NULL THEN ${row.expression} END AS "row"`;
    // To-many relations read for the whole page (src/db/read-sql.ts, BatchedRelation): the page's keys once, as a
    // CTE, and after its rows one row per such relation (`batch`: its number) holding the related rows of the page.
    const parents = `ARRAY(SELECT "__id" FROM page WHERE "__id" IS NOT NULL)`;
    const batches = row.batched.map((relation, i) => ` UNION ALL SELECT NULL, NULL, NULL, ${relation.expression(parents)}, ${i}`).join("");
    sql =
      row.batched.length === 0
        ? `${keyColumns}, ${rowColumn} FROM (${keysSql.text}) AS x0`
        : `WITH page AS MATERIALIZED (${keysSql.text}) ${keyColumns}, ${rowColumn}, NULL::int AS "batch" FROM page AS x0${batches}`;
  }
  const result = await readRows<KeyRow>(sql, row ? [...keysSql.values, ...row.params] : keysSql.values);
  const keyRows = result.filter((r) => r.id != null);
  // In the page's order whatever order the rows came in (SQL promises none without an ORDER BY at the top, and the
  // count's and the relations' rows share the result): by time, then id (uuids compare as their lower-case text).
  const sign = descending ? -1 : 1;
  keyRows.sort((a, b) => sign * (Number(a.createdAt) - Number(b.createdAt) || (a.id! < b.id! ? -1 : a.id! > b.id! ? 1 : 0)));
  const keys = keyRows.map((r) => ({ id: r.id!, createdAt: new Date(Number(r.createdAt)) }));
  const total = result.find((r) => r.id == null && r.batch == null)?.total ?? null;
  const nodes = row ? new Map(keyRows.map((r) => [r.id!, decodeRow<{ id: string } & Record<string, unknown>>(row, r.row)])) : null;
  if (row && nodes && row.batched.length > 0) {
    decodeBatched(row, nodes, row.batched.map((_, i) => result.find((r) => r.batch === i)?.row));
  }
  return { keys, total, nodes };
}

/**
 * One page of a list: its keys, count and rows with what the selection under `edges.node` needs (Pothos'
 * include/select, compiled by src/db/read-sql.ts) in one statement (`readPage`).
 */
export function keysetConnection<K extends ListTable>(options: KeysetOptions<K>): Promise<ConnectionResult<ListRow[K]>> {
  // The same list asked again within one request (every invitation's `organization { invitations }` on a page names
  // the same organization; aliases of one field) is read once: 100 nested copies cost what one does. The cache lives on the request's
  // loaders, which are replaced after each mutation, so nothing read before a write is served after it.
  const { table, where, args, ctx, info } = options;
  const loaders = (ctx as { loaders?: object }).loaders ?? ctx;
  let cache = sameListCache.get(loaders);
  if (!cache) sameListCache.set(loaders, (cache = new Map()));
  const key = JSON.stringify([table, where.sql, where.values, options.partition ?? null, args, info.fieldNodes.map(printedWithoutAlias), info.parentType.name]);
  let result = cache.get(key) as Promise<ConnectionResult<ListRow[K]>> | undefined;
  if (!result) {
    result = readConnection(options);
    cache.set(key, result);
  }
  return result;
}

const sameListCache = new WeakMap<object, Map<string, Promise<unknown>>>();

/** A field node as text without its alias, printed once per parsed document (Yoga caches documents, so nodes recur). */
const printedNodes = new WeakMap<FieldNode, string>();
function printedWithoutAlias(node: FieldNode): string {
  let text = printedNodes.get(node);
  if (text === undefined) printedNodes.set(node, (text = print({ ...node, alias: undefined })));
  return text;
}

/** An edge of a page; its cursor is encoded when asked for (a page of 50 asked for `pageInfo { endCursor }` only). */
class Edge<T> {
  constructor(
    private readonly key: Keyset,
    readonly node: T,
  ) {}
  get cursor(): string {
    return encodeCursor(this.key);
  }
}

/** The row type of each list's table. */
interface ListRow {
  Invitation: Invitation;
  Membership: Membership;
  InvitationEvent: InvitationEvent;
  WebhookEndpoint: WebhookEndpoint;
}

interface KeysetOptions<K extends ListTable> {
  table: K;
  where: Prisma.Sql;
  args: PageArgs;
  ctx: object;
  info: GraphQLResolveInfo;
  /** Set for a list spanning several organizations: `where` then holds the filters only. */
  partition?: Partition;
}

async function readConnection<K extends ListTable, T extends ListRow[K] = ListRow[K]>(options: KeysetOptions<K>): Promise<ConnectionResult<T>> {
  const { table, where, args, ctx, info } = options;
  const plan = planPage(args);
  const withCount = selects(info, "totalCount");
  const wantsNodes = plan.size > 0 && selects(info, "edges");
  // Pothos names the relations the nodes' selection needs; selectedColumnsAt narrows every row to the columns read.
  const query = wantsNodes
    ? selectedColumnsAt(table, queryFromInfo({ context: ctx, info, typeName: table, path: ["edges", "node"] }) as Record<string, unknown>, info, ["edges", "node"])
    : undefined;
  const { keys, total, nodes } = await readPage(table, where, plan, withCount, options.partition, query);

  const more = keys.length > plan.size;
  const pageKeysInOrder = more ? keys.slice(0, plan.size) : keys;
  if (plan.backward) pageKeysInOrder.reverse();

  let edges: { cursor: string; node: T }[] = [];
  if (pageKeysInOrder.length > 0 && query) {
    const ids = pageKeysInOrder.map((k) => k.id);
    let byId: Map<string, T>;
    if (nodes) {
      byId = nodes as Map<string, T>;
      await checkAgainstPrisma(table, ids, query, ids.map((id) => byId.get(id)));
    } else {
      byId = new Map((await findManyWithPrisma<T>(table, ids, query)).map((row) => [row.id, row]));
    }
    edges = pageKeysInOrder.flatMap((k) => {
      const node = byId.get(k.id);
      return node ? [new Edge(k, node)] : [];
    });
  }
  return {
    edges,
    pageInfo: {
      // As Pothos' own connections answered: a cursor on the other side means there is a page there.
      hasNextPage: plan.backward ? args.before != null : more,
      hasPreviousPage: plan.backward ? more : args.after != null,
      startCursor: pageKeysInOrder.length > 0 ? encodeCursor(pageKeysInOrder[0]!) : null,
      endCursor: pageKeysInOrder.length > 0 ? encodeCursor(pageKeysInOrder.at(-1)!) : null,
    },
    totalCount: total ?? (async () => (await readPage(table, where, { ...plan, size: 0 }, true, options.partition)).total ?? 0),
  };
}

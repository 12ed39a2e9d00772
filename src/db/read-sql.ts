/**
 * Reads rows, with the relations a GraphQL selection needs, in ONE SQL statement whose text is compiled once per
 * shape of query and then reused: the rows of a list's page (src/schema/connections.ts) and the root look-ups.
 *
 * Why not `prisma.<model>.findMany({ include, select })`: Prisma 6 compiles every call's query afresh in its
 * query compiler, 1–3 ms of CPU for a page with three relations, more than the database spends answering it
 * (README, "Where the time goes"). The query objects here are the ones Pothos builds from the GraphQL selection
 * (`queryFromInfo`), so they recur request after request in a handful of shapes; this compiles each shape to SQL
 * once (a bounded cache), and each call only binds its ids. The statement goes through Prisma's driver adapter
 * (`Database.read`), so the statement counts, the timeouts and the error mapping see it like any other.
 *
 * It understands the subset of Prisma's query language those shapes use: `select`/`include` of scalars and
 * relations (to-one by foreign key, to-many, implicit many-to-many), `_count` of to-many relations, and on a to-many
 * relation a `where` of equalities, an `orderBy` and a `take`. Anything else (a filter operator, a cursor, `skip`,
 * `distinct`, a type it cannot decode) returns null from `compileRowOf`, and the caller falls back to Prisma itself:
 * same rows, slower. Results have Prisma's shape and types (Date for DateTime, parsed JSON, arrays, `_count`), so
 * Pothos resolves from them as from Prisma's own; test/read-sql.test.ts compares the two on every shape the schema
 * produces.
 */
import { isDeepStrictEqual } from "node:util";
import { LRUCache } from "lru-cache";
import { getDatamodel } from "../generated/pothos-types.js";
import { jsonOf, prisma, readRows } from "./client.js";

type Query = Record<string, unknown>;

export interface FieldInfo {
  type: string;
  kind: "scalar" | "enum" | "object";
  name: string;
  isList: boolean;
  relationName?: string;
  relationFromFields?: string[];
}

const datamodel = getDatamodel().datamodel.models as unknown as Record<string, { fields: FieldInfo[] }>;

/** Each model's fields by name, from the generated datamodel (also read by src/schema/columns.ts). */
export const MODEL_FIELDS: ReadonlyMap<string, ReadonlyMap<string, FieldInfo>> = new Map(
  Object.entries(datamodel).map(([name, model]) => [name, new Map(model.fields.map((f) => [f.name, f]))]),
);
const FIELDS = MODEL_FIELDS;

const SCALAR_TYPES = new Set(["String", "Int", "Float", "Boolean", "DateTime", "Json"]);

/**
 * How a relation joins: the condition on the related table `r` against the parent `p`, and for a to-many relation
 * `key`, the expression on the related side equal to the parent's id (a batched relation's rows are matched by it).
 */
function joinOf(model: string, field: FieldInfo, parent: string, alias: string): { from: string; on: string; key?: string } | null {
  const target = field.type;
  if (!field.isList) {
    // To-one: the foreign key is on this side (every relation of this schema references `id`).
    const [fk] = field.relationFromFields ?? [];
    if (!fk || (field.relationFromFields ?? []).length !== 1) return null;
    return { from: `"${target}" AS ${alias}`, on: `${alias}."id" = ${parent}."${fk}"` };
  }
  const back = [...FIELDS.get(target)!.values()].find((f) => f.relationName === field.relationName && f.type === model && f !== field);
  if (!back) return null;
  if (back.isList) {
    // Implicit many-to-many: Prisma's join table `_<relation>`, column A for the model whose name sorts first.
    const [first] = [model, target].sort();
    if (model === target) return null;
    const mine = first === model ? "A" : "B";
    const theirs = mine === "A" ? "B" : "A";
    const join = `"_${field.relationName}"`;
    // Each link's row looked up by its primary key (OFFSET 0 keeps the subquery from being merged into a join):
    // without planner statistics PostgreSQL would otherwise hash the whole related table, all organizations' rows,
    // for every parent.
    return {
      from: `${join} AS ${alias}j CROSS JOIN LATERAL (SELECT * FROM "${target}" AS ${alias}t WHERE ${alias}t."id" = ${alias}j."${theirs}" OFFSET 0) AS ${alias}`,
      on: `${alias}j."${mine}" = ${parent}."id"`,
      key: `${alias}j."${mine}"`,
    };
  }
  const [fk] = back.relationFromFields ?? [];
  if (!fk || (back.relationFromFields ?? []).length !== 1) return null;
  return { from: `"${target}" AS ${alias}`, on: `${alias}."${fk}" = ${parent}."id"`, key: `${alias}."${fk}"` };
}

/**
 * Set on every row, related rows included, that a compiled read returns. Such a row holds everything the selection at
 * its place asked for, since it was compiled from Pothos' own query for that selection; src/schema/index.ts lets
 * its fields resolve without Pothos' per-row bookkeeping (`resolveCompiledRowsDirectly`).
 */
export const COMPILED_ROW: unique symbol = Symbol("compiled row");

/** Turns one row's JSON (as PostgreSQL wrote it) into what Prisma would have returned. */
type Decoder = (value: any) => any;

const toDate: Decoder = (value) => (value == null ? value : new Date(value));

class Unsupported extends Error {}

/**
 * A to-many relation of a list's rows read for the whole page at once rather than per row (see compileRow):
 * `expression(parents)` is a JSON array of [parent id, related row] pairs for the parents whose ids the SQL array
 * `parents` holds, in the relation's order per parent.
 */
export interface BatchedRelation {
  name: string;
  expression(parents: string): string;
  decode: Decoder;
}

interface Compiled {
  /** The SQL expression building one row of `model` (aliased `alias`) as a JSON array (see compileRow). */
  expression: string;
  /** With `batch`: the top-level to-many relations left out of `expression`, to be read for the whole page. */
  batched: BatchedRelation[];
  decode: Decoder;
}

/**
 * One compilation's state: parameters collected in order (`$n` placeholders numbered from the caller's first free
 * index) and the table aliases handed out, unique within the statement.
 */
class Params {
  values: unknown[] = [];
  private aliases = 0;
  constructor(private readonly offset: number) {}
  add(value: unknown, cast: string): string {
    this.values.push(value);
    return `$${this.offset + this.values.length}::${cast}`;
  }
  alias(prefix: string): string {
    return `${prefix}${++this.aliases}`;
  }
}

const KNOWN_ARGS = new Set(["select", "include", "where", "orderBy", "take"]);

function castOf(field: FieldInfo): string {
  if (field.kind === "enum") return `"${field.type}"`;
  switch (field.type) {
    case "String":
      return field.name === "id" || field.name.endsWith("Id") ? "uuid" : "text";
    case "Int":
      return "int";
    case "Boolean":
      return "boolean";
    default:
      throw new Unsupported(`filter on ${field.type}`);
  }
}

/** A where of plain equalities (`{ field: value }`, value a string, number, boolean or null). */
function whereSql(model: string, where: unknown, alias: string, params: Params): string[] {
  if (where == null) return [];
  if (typeof where !== "object") throw new Unsupported("where");
  const fields = FIELDS.get(model)!;
  return Object.entries(where as Record<string, unknown>).map(([name, value]) => {
    const field = fields.get(name);
    if (!field || field.kind === "object" || field.isList) throw new Unsupported(`where ${name}`);
    if (value === null) return `${alias}."${name}" IS NULL`;
    if (!["string", "number", "boolean"].includes(typeof value)) throw new Unsupported(`where ${name}`);
    return `${alias}."${name}" = ${params.add(value, castOf(field))}`;
  });
}

function orderSql(model: string, orderBy: unknown, alias: string): string[] {
  const fields = FIELDS.get(model)!;
  const items = orderBy == null ? [] : Array.isArray(orderBy) ? orderBy : [orderBy];
  const parts = items.flatMap((item) =>
    Object.entries(item as Record<string, unknown>).map(([name, direction]) => {
      const field = fields.get(name);
      if (!field || field.kind === "object" || (direction !== "asc" && direction !== "desc")) throw new Unsupported(`orderBy ${name}`);
      return `${alias}."${name}" ${direction === "desc" ? "DESC" : "ASC"}`;
    }),
  );
  // Prisma gives no order without orderBy; id makes ours at least stable.
  if (!items.some((item) => Object.keys(item as object).includes("id"))) parts.push(`${alias}."id" ASC`);
  return parts;
}

/**
 * The JSON of one row of `model` (table alias `alias`) with what `query` ({ select } or { include } or neither)
 * asks for: an array of the values in a fixed order (json_build_array), which the decoder turns into Prisma's object.
 * PostgreSQL builds an array of N values faster than an object of N keys and values, and the JSON is shorter to send
 * and to parse (B's page: 0.06 ms less of the database's time per request).
 */
function compileRow(model: string, query: Query | true, alias: string, params: Params, depth: number, columns?: Set<string>, batch = false): Compiled {
  if (depth > 6) throw new Unsupported("depth");
  const fields = FIELDS.get(model)!;
  const q = query === true ? {} : query;
  const select = q.select as Record<string, unknown> | undefined;
  const include = q.include as Record<string, unknown> | undefined;
  if (select && include) throw new Unsupported("select and include");
  const values: string[] = [];
  const names: string[] = [];
  /** Per position, how its value becomes Prisma's (undefined: as it is). */
  const decoders: (Decoder | undefined)[] = [];
  const batched: BatchedRelation[] = [];
  const add = (name: string, value: string, decode?: Decoder) => {
    names.push(name);
    values.push(value);
    decoders.push(decode);
  };

  const wanted: [string, unknown][] = select
    ? Object.entries(select).filter(([, v]) => v !== false && v != null)
    : [
        ...[...fields.values()].filter((f) => f.kind !== "object").map((f) => [f.name, true] as [string, unknown]),
        ...Object.entries(include ?? {}).filter(([, v]) => v !== false && v != null),
      ];

  for (const [name, value] of wanted) {
    if (name === "_count") {
      const countSelect = (value as { select?: Record<string, unknown> }).select;
      if (!countSelect || typeof countSelect !== "object") throw new Unsupported("_count");
      const counts: string[] = [];
      const relations: string[] = [];
      for (const [relation, spec] of Object.entries(countSelect)) {
        if (spec === false || spec == null) continue;
        const field = fields.get(relation);
        if (!field || field.kind !== "object" || !field.isList) throw new Unsupported(`_count ${relation}`);
        const a = params.alias("c");
        const join = joinOf(model, field, alias, a);
        if (!join) throw new Unsupported(`_count ${relation}`);
        columns?.add("id");
        const filters = spec === true ? [] : whereSql(field.type, (spec as { where?: unknown }).where, a, params);
        if (spec !== true && Object.keys(spec as object).some((k) => k !== "where")) throw new Unsupported("_count args");
        counts.push(`(SELECT count(*)::int FROM ${join.from} WHERE ${[join.on, ...filters].join(" AND ")})`);
        relations.push(relation);
      }
      add("_count", `json_build_array(${counts.join(", ")})`, (v: number[]) => {
        const count: Record<string, number> = {};
        for (let i = 0; i < relations.length; i += 1) count[relations[i]!] = v[i]!;
        return count;
      });
      continue;
    }
    const field = fields.get(name);
    if (!field) throw new Unsupported(`field ${name}`);
    if (field.kind !== "object") {
      if (value !== true) throw new Unsupported(`scalar ${name}`);
      if (field.kind === "scalar" && !SCALAR_TYPES.has(field.type)) throw new Unsupported(`type ${field.type}`);
      columns?.add(name);
      if (field.type === "DateTime" && !field.isList) {
        // As milliseconds since the epoch: `new Date(number)` is several times cheaper than parsing the text
        // PostgreSQL would write, the JSON is shorter, and PostgreSQL skips formatting a time zone (columns are
        // timestamptz(3), so the value is exact).
        add(name, `round(date_part('epoch', ${alias}."${name}") * 1000)::int8`, toDate);
        continue;
      }
      if (field.type === "DateTime") throw new Unsupported("DateTime[]");
      add(name, `${alias}."${name}"`);
      continue;
    }
    // A relation.
    const args = value === true ? {} : (value as Query);
    for (const key of Object.keys(args)) if (!KNOWN_ARGS.has(key)) throw new Unsupported(`relation argument ${key}`);
    const a = params.alias("r");
    const join = joinOf(model, field, alias, a);
    if (!join) throw new Unsupported(`relation ${name}`);
    if (columns) for (const column of field.isList ? ["id"] : field.relationFromFields ?? []) columns.add(column);
    const inner = compileRow(field.type, args.select || args.include ? { select: args.select, include: args.include } as Query : true, a, params, depth + 1);
    if (!field.isList) {
      if (args.where || args.orderBy || args.take != null) throw new Unsupported("to-one arguments");
      add(name, `(SELECT ${inner.expression} FROM ${join.from} WHERE ${join.on})`, (v) => (v == null ? v : inner.decode(v)));
      continue;
    }
    const filters = whereSql(field.type, args.where, a, params);
    const order = orderSql(field.type, args.orderBy, a);
    let limit = "";
    if (args.take != null) {
      if (typeof args.take !== "number" || !Number.isInteger(args.take) || args.take < 0) throw new Unsupported("take");
      limit = ` LIMIT ${args.take}`;
    }
    const where = [join.on, ...filters].join(" AND ");
    if (batch && !limit && join.key) {
      // For a page's rows: one aggregate for the whole page, in the relation's order within each parent, instead of
      // a subquery per row (B's page: 0.07 ms less of the database's time, its to-many links read in one index scan).
      const key = join.key;
      const others = [`${key} = ANY(PARENTS)`, ...filters].join(" AND ");
      batched.push({
        name,
        expression: (parents) =>
          `(SELECT json_agg(json_build_array(${key}, ${inner.expression}) ORDER BY ${key}, ${order.join(", ")}) FROM ${join.from} WHERE ${others.replace("PARENTS", parents)})`,
        decode: inner.decode,
      });
      continue;
    }
    add(
      name,
      limit
        ? // A LIMIT needs the rows ordered before the aggregate; the row number carries that order through json_agg
          // (an aggregate's input order is not otherwise promised).
          `(SELECT coalesce(json_agg(s.j ORDER BY s.n), '[]'::json) FROM (SELECT ${inner.expression} AS j, row_number() OVER (ORDER BY ${order.join(", ")}) AS n FROM ${join.from} WHERE ${where} ORDER BY ${order.join(", ")}${limit}) AS s)`
        : // Without one, the aggregate orders its own input: no window, no subquery (about 11% less time for B's page).
          `(SELECT coalesce(json_agg(${inner.expression} ORDER BY ${order.join(", ")}), '[]'::json) FROM ${join.from} WHERE ${where})`,
      (v: any[]) => v.map(inner.decode),
    );
  }
  // A function takes at most 100 arguments.
  if (values.length > 100) throw new Unsupported("too many fields");
  const decode: Decoder = (array: unknown[]) => {
    const row: Record<string | symbol, unknown> = {};
    for (let i = 0; i < names.length; i += 1) {
      const decodeField = decoders[i];
      row[names[i]!] = decodeField ? decodeField(array[i]) : array[i];
    }
    row[COMPILED_ROW] = true;
    return row;
  };
  return { expression: `json_build_array(${values.join(", ")})`, batched, decode };
}

/** A query object's text, for the cache key: a page looks its shape up twice (src/schema/connections.ts, readPage). */
const queryTexts = new WeakMap<object, string>();

/** Compiled rows by model, query shape and first parameter number; null where this compiler does not handle the shape. */
const compiled = new LRUCache<string, CompiledRow | { unsupported: true }>({ max: 500 });

export interface CompiledRow {
  /** SQL building one row of the model, aliased `x0`, as JSON. */
  expression: string;
  /** The columns of `x0` the expression reads: what a page's statement must carry for it (src/schema/connections.ts). */
  columns: string[];
  /** With `batch`: to-many relations read for a whole page at once (decodeBatched puts them on the rows). */
  batched: BatchedRelation[];
  /** Parameters fixed by the query shape (nested filters), numbered from the offset given. */
  params: unknown[];
  decode: Decoder;
}

/**
 * The JSON expression of one row of `model` (table alias `x0`) shaped by `query`, its nested filters' parameters
 * numbered `$offset+1`…, or null when Prisma must read this shape. Filter values are in the cache key, so a shape
 * differing only in a filter value (the viewer's id) is compiled apart, never served another's values.
 */
export function compileRowOf(model: string, query: Query, offset: number, batch = false): CompiledRow | null {
  let text = queryTexts.get(query);
  if (text === undefined) queryTexts.set(query, (text = JSON.stringify(query)));
  const key = `${model}\u0000${offset}\u0000${batch}\u0000${text}`;
  const cached = compiled.get(key);
  if (cached) return "unsupported" in cached ? null : cached;
  let result: CompiledRow | null = null;
  try {
    if (!FIELDS.has(model)) throw new Unsupported(model);
    for (const k of Object.keys(query)) if (k !== "select" && k !== "include") throw new Unsupported(k);
    const params = new Params(offset);
    const columns = new Set<string>();
    const row = compileRow(model, query, "x0", params, 0, columns, batch);
    result = { expression: row.expression, columns: [...columns], batched: row.batched, params: params.values, decode: row.decode };
  } catch (error) {
    if (!(error instanceof Unsupported)) throw error;
  }
  compiled.set(key, result ?? { unsupported: true });
  return result;
}

/** Decodes the `row` column a compiled expression filled (pg parses json; PGlite's adapter may hand over text). */
export function decodeRow<T>(row: CompiledRow, value: unknown): T {
  return row.decode(jsonOf(value)) as T;
}

/**
 * Puts each batched relation's rows (`values[i]`, the JSON of `row.batched[i]`: [parent id, related row] pairs) on
 * the rows by id; rows without any get an empty list, as Prisma gives them.
 */
export function decodeBatched(row: CompiledRow, rows: ReadonlyMap<string, Record<string, unknown>>, values: readonly unknown[]): void {
  row.batched.forEach((relation, i) => {
    const raw = values[i];
    const pairs = jsonOf<[string, unknown][] | null>(raw);
    for (const parent of rows.values()) parent[relation.name] = [];
    for (const [parentId, related] of pairs ?? []) (rows.get(parentId)?.[relation.name] as unknown[] | undefined)?.push(relation.decode(related));
  });
}

type Delegate = { findMany(args: object): Promise<unknown[]> };

/**
 * For tests (test/read-sql.test.ts): every compiled read is also made through Prisma, and a difference throws.
 * `compiled` and `fallbacks` count the reads each way, with the shapes that fell back.
 */
export const readSqlCheck = { enabled: false, compiled: 0, fallbacks: [] as string[] };

function delegateOf(model: string): Delegate {
  return (prisma as unknown as Record<string, Delegate>)[model[0]!.toLowerCase() + model.slice(1)]!;
}

/** With readSqlCheck on: throws unless Prisma reads the same rows for these ids with this query. */
export async function checkAgainstPrisma(model: string, ids: readonly string[], query: Query, rows: unknown[]): Promise<void> {
  if (!readSqlCheck.enabled) return;
  readSqlCheck.compiled += 1;
  const expected = await findManyWithPrisma(model, ids, query);
  // structuredClone leaves out the COMPILED_ROW marks, which Prisma's rows do not have.
  if (!isDeepStrictEqual(structuredClone(sortById(rows)), sortById(expected))) {
    throw new Error(`read-sql differs from Prisma for ${model} ${JSON.stringify(query)}:\n${JSON.stringify(sortById(rows))}\n${JSON.stringify(sortById(expected))}`);
  }
}

/** With readSqlCheck on: notes a shape the compiler left to Prisma. */
export function noteFallback(model: string, query: Query): void {
  if (readSqlCheck.enabled) readSqlCheck.fallbacks.push(`${model} ${JSON.stringify(query)}`);
}

function sortById(rows: unknown[]): unknown[] {
  return [...rows].sort((a, b) => ((a as { id: string }).id < (b as { id: string }).id ? -1 : 1));
}

/** Rows of `model` with these ids (in any order) read by Prisma: for the shapes `compileRowOf` leaves to it. */
export async function findManyWithPrisma<T>(model: string, ids: readonly string[], query: Query): Promise<T[]> {
  return (await delegateOf(model).findMany({ ...query, where: { id: { in: [...ids] } } })) as T[];
}

/**
 * The row of `model` with this id, shaped by `query` as Prisma would shape it, or null. `isNull` names columns that
 * must be NULL too (`deletedAt`: not deleted).
 */
export async function findOneById<T>(model: string, id: string, query: Query, isNull: readonly string[] = []): Promise<T | null> {
  const statement = compileRowOf(model, query, 1);
  if (!statement) {
    noteFallback(model, query);
    const where = { id, ...Object.fromEntries(isNull.map((column) => [column, null])) };
    return ((await delegateOf(model).findMany({ ...query, where, take: 1 })) as T[])[0] ?? null;
  }
  const conditions = isNull.map((column) => ` AND x0."${column}" IS NULL`).join("");
  const sql = `SELECT ${statement.expression} AS "row" FROM "${model}" AS x0 WHERE x0."id" = $1::uuid${conditions}`;
  const [row] = await readRows<{ row: unknown }>(sql, [id, ...statement.params]);
  const result = row ? decodeRow<T>(statement, row.row) : null;
  await checkAgainstPrisma(model, result ? [id] : [], query, result ? [result] : []);
  return result;
}

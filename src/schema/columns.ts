/**
 * Rows carry only the columns their GraphQL selection reads.
 *
 * Every object type here is in Pothos' include mode: the query Pothos builds from a selection (`queryFromInfo`)
 * names the relations to load and leaves the columns to "all of them". For a page of 50 invitations that was every
 * column of every row and of every related row (`tokenHash`, `metadata`, eight timestamps per invitation, the
 * role's permissions, the inviter's `sub`…): built as JSON by PostgreSQL, sent, parsed and turned into Dates, for
 * fields nobody asked for. `selectedColumns` turns such a query into a `select` of the columns the selected fields
 * read, relation by relation, before src/db/read-sql.ts compiles it.
 *
 * What a field reads is known from Pothos' own field configuration:
 * - `t.expose*("column")`: that column;
 * - `t.relation("name")`: the relation, whose related row is pruned the same way by the field's own selection;
 * - a field with a `select` object (`t.field({ select })`): the columns named there (relations in it stay whole);
 * - a Node type's `id`: the id (always read: Pothos and the rules find rows by it);
 * - a field declaring `extensions: { columns: [...] }` (`readsColumns`): those columns;
 * - anything else (a resolver that reads its parent in ways not declared): every column of that row, as before.
 * So an undeclared field costs bytes, never correctness. test/read-sql.test.ts reads every list's nodes with every
 * field selected and with single fields, and compares each compiled row with Prisma's.
 */
import {
  getNamedType,
  isObjectType,
  Kind,
  type FragmentDefinitionNode,
  type GraphQLField,
  type GraphQLObjectType,
  type GraphQLResolveInfo,
  type SelectionSetNode,
} from "graphql";
import { MODEL_FIELDS } from "../db/read-sql.js";

type Query = Record<string, unknown>;

/** The `extensions` of a field that reads columns of its parent row not visible from its definition. */
export function readsColumns(...columns: string[]): { columns: readonly string[] } {
  return { columns };
}

/** Each model's columns (its scalar and enum fields), worked out once. */
const COLUMNS = new Map(
  [...MODEL_FIELDS].map(([model, fields]) => [model, new Set([...fields.values()].filter((f) => f.kind !== "object").map((f) => f.name))]),
);

/** The model a relation of `model` points to. */
function relationModel(model: string, relation: string): string | undefined {
  const field = MODEL_FIELDS.get(model)?.get(relation);
  return field?.kind === "object" ? field.type : undefined;
}

/** The selection sets of the field `info` resolves (one per node of the field, with aliases and repeats). */
export function fieldSelections(info: GraphQLResolveInfo): SelectionSetNode[] {
  return info.fieldNodes.flatMap((node) => (node.selectionSet ? [node.selectionSet] : []));
}

/** The fields selected on `type` (by field name, aliases merged) with their selection sets, through fragments. */
export function selectedFields(
  type: GraphQLObjectType,
  sets: readonly SelectionSetNode[],
  fragments: Record<string, FragmentDefinitionNode>,
): Map<string, SelectionSetNode[]> {
  const fields = new Map<string, SelectionSetNode[]>();
  const applies = (condition: string | undefined) =>
    !condition || condition === type.name || type.getInterfaces().some((iface) => iface.name === condition);
  const visit = (set: SelectionSetNode, seen: Set<string>) => {
    for (const selection of set.selections) {
      if (selection.kind === Kind.FIELD) {
        const name = selection.name.value;
        let nested = fields.get(name);
        if (!nested) fields.set(name, (nested = []));
        if (selection.selectionSet) nested.push(selection.selectionSet);
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        if (applies(selection.typeCondition?.name.value)) visit(selection.selectionSet, seen);
      } else if (!seen.has(selection.name.value)) {
        seen.add(selection.name.value);
        const fragment = fragments[selection.name.value];
        if (fragment && applies(fragment.typeCondition.name.value)) visit(fragment.selectionSet, seen);
      }
    }
  };
  for (const set of sets) visit(set, new Set());
  return fields;
}

/**
 * `query` (Pothos' include-mode query for rows of `model`, shown as GraphQL type `type`) as a `select` of what
 * `sets`, the selection sets on those rows, read. Returns `query` itself when it is not an include-mode query.
 */
export function selectedColumns(
  model: string,
  type: GraphQLObjectType,
  query: Query,
  sets: readonly SelectionSetNode[],
  fragments: Record<string, FragmentDefinitionNode>,
): Query {
  const scalars = COLUMNS.get(model);
  if (!scalars || "select" in query) return query;
  const include = (query.include ?? {}) as Record<string, unknown>;
  const columns = new Set<string>(["id"]);
  let everyColumn = false;
  // Relations reached by relation fields (pruned by the fields' selections) and relations named otherwise (kept whole).
  const relations = new Map<string, { type: GraphQLObjectType; sets: SelectionSetNode[] }>();
  const whole = new Set<string>();

  for (const [name, nested] of selectedFields(type, sets, fragments)) {
    if (name === "__typename") continue;
    const field = type.getFields()[name] as GraphQLField<unknown, unknown> | undefined;
    if (!field) {
      everyColumn = true;
      continue;
    }
    const extensions = field.extensions as {
      columns?: readonly string[];
      pothosExposedField?: string;
      pothosPrismaRelationField?: { name: string };
      pothosPrismaSelect?: unknown;
    };
    if (extensions.columns) {
      for (const column of extensions.columns) columns.add(column);
    } else if (typeof extensions.pothosExposedField === "string" && scalars.has(extensions.pothosExposedField)) {
      columns.add(extensions.pothosExposedField);
    } else if (extensions.pothosPrismaRelationField) {
      const target = getNamedType(field.type);
      const relation = extensions.pothosPrismaRelationField.name;
      if (!isObjectType(target)) {
        whole.add(relation);
        continue;
      }
      const entry = relations.get(relation);
      if (entry && entry.type !== target) whole.add(relation);
      else if (entry) entry.sets.push(...nested);
      else relations.set(relation, { type: target, sets: [...nested] });
    } else if (name === "id" && type.getInterfaces().some((iface) => iface.name === "Node")) {
      // The id, read already.
    } else if (extensions.pothosPrismaSelect && typeof extensions.pothosPrismaSelect === "object") {
      for (const key of Object.keys(extensions.pothosPrismaSelect)) {
        if (scalars.has(key)) columns.add(key);
        else whole.add(key);
      }
    } else {
      everyColumn = true;
    }
  }

  const select: Record<string, unknown> = {};
  for (const column of everyColumn ? scalars : columns) select[column] = true;
  for (const [name, spec] of Object.entries(include)) {
    if (spec === false || spec == null) continue;
    const reached = relations.get(name);
    const modelOfRelation = relationModel(model, name);
    if (name === "_count" || whole.has(name) || !reached || !modelOfRelation) {
      select[name] = spec;
      continue;
    }
    const args = spec === true ? {} : (spec as Query);
    const { include: nestedInclude, select: nestedSelect, ...rest } = args;
    if (nestedSelect) {
      select[name] = spec;
      continue;
    }
    const inner = selectedColumns(modelOfRelation, reached.type, { include: nestedInclude ?? {} }, reached.sets, fragments);
    select[name] = { ...rest, ...inner };
  }
  return { select };
}

/**
 * `selectedColumns` for the rows a field resolves to at `path` below it: `[]` for a field returning rows itself
 * (`invitation(id)`), `["edges", "node"]` for a connection's nodes.
 */
export function selectedColumnsAt(model: string, query: Query, info: GraphQLResolveInfo, path: readonly string[]): Query {
  let type = getNamedType(info.returnType);
  let sets = fieldSelections(info);
  for (const key of path) {
    if (!isObjectType(type)) return query;
    const field = type.getFields()[key];
    if (!field) return query;
    sets = selectedFields(type, sets, info.fragments).get(key) ?? [];
    type = getNamedType(field.type);
  }
  if (!isObjectType(type) || sets.length === 0) return query;
  return selectedColumns(model, type, query, sets, info.fragments);
}

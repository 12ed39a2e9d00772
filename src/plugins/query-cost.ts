/**
 * MAX_COST: the number of objects a document can make the server load, computed before anything runs.
 *
 * Every field that returns an object (or a list of objects) costs 1 times the product of the sizes of the lists and
 * connections around it; scalars are free. A connection's size is its `first`/`last` (variables resolved; absent:
 * the default page size), a plain list of objects (`roles`, `groups`) counts as 20. A connection's `edges`, `node`
 * and `pageInfo` are free and add no multiplier, so `invitations(first: 100) { edges { node { role { key } } } }`
 * costs 1 + 100. Introspection fields are exempt.
 *
 * graphql-armor's cost rule gives every field a flat weight and ignores `first`, which is what makes a nested
 * connection expensive, hence this rule. It is not a validation rule: the cost depends on the variables, and Yoga
 * caches validation results per document, so it runs after validation on every request, with that request's variables.
 */
import {
  getNamedType,
  getNullableType,
  GraphQLError,
  isCompositeType,
  isListType,
  isObjectType,
  Kind,
  valueFromASTUntyped,
  visit,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLCompositeType,
  type GraphQLNamedType,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type ValueNode,
} from "graphql";
import type { Plugin } from "graphql-yoga";
import { LIMITS } from "../validation.js";

/** The size of a connection without `first`/`last`: the server's default page. */
export const DEFAULT_CONNECTION_SIZE = 20;
/** What a plain list of objects (`roles`, `groups`) counts as: it is not paginated, so a guess at a typical size. */
export const LIST_SIZE = 20;

/** A connection type in the Relay sense: it has `edges` and `pageInfo`. */
function isConnection(type: GraphQLNamedType): boolean {
  if (!isObjectType(type)) return false;
  const fields = type.getFields();
  return "edges" in fields && "pageInfo" in fields;
}

/** An edge type: it has `node` and `cursor`. */
function isEdge(type: GraphQLCompositeType): boolean {
  if (!isObjectType(type)) return false;
  const fields = type.getFields();
  return "node" in fields && "cursor" in fields;
}

/**
 * The cost of each operation of `document`, by operation name ("" for an anonymous one). `variables` are the
 * request's raw variables; a variable that is missing takes its declared default.
 */
export function operationCosts(
  schema: GraphQLSchema,
  document: DocumentNode,
  variables: Record<string, unknown> | null | undefined,
): Map<string, number> {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
  }
  const costs = new Map<string, number>();
  for (const definition of document.definitions) {
    if (definition.kind !== Kind.OPERATION_DEFINITION) continue;
    costs.set(definition.name?.value ?? "", operationCost(schema, definition, fragments, variables ?? {}));
  }
  return costs;
}

function operationCost(
  schema: GraphQLSchema,
  operation: OperationDefinitionNode,
  fragments: Map<string, FragmentDefinitionNode>,
  variables: Record<string, unknown>,
): number {
  const root = schema.getRootType(operation.operation);
  if (!root) return 0;
  const defaults = new Map<string, unknown>();
  for (const definition of operation.variableDefinitions ?? []) {
    if (definition.defaultValue) defaults.set(definition.variable.name.value, valueFromASTUntyped(definition.defaultValue));
  }
  const variable = (name: string) => (Object.hasOwn(variables, name) ? variables[name] : defaults.get(name));

  // The cost is linear in the multiplier around a selection, so a fragment's cost at multiplier 1 is computed once
  // and scaled wherever it is spread: without this, fragments spreading each other twice per level would make the
  // walk exponential in the length of the document. `null` marks one in progress (a cycle, refused by validation).
  const fragmentCosts = new Map<string, number | null>();

  const sizeOf = (field: FieldNode): number => {
    let size: number | undefined;
    for (const argument of field.arguments ?? []) {
      if (argument.name.value !== "first" && argument.name.value !== "last") continue;
      const value = argumentValue(argument.value, variable);
      // A size the server refuses anyway (over the page size, negative, not a number) is reported by the field as
      // BAD_USER_INPUT naming the argument, a clearer answer than MAX_COST; here it only counts what could load.
      if (typeof value === "number" && Number.isFinite(value)) {
        size = Math.max(size ?? 0, Math.min(Math.max(value, 0), LIMITS.pageSize));
      }
    }
    return size ?? DEFAULT_CONNECTION_SIZE;
  };

  const selectionCost = (selectionSet: SelectionSetNode, parentType: GraphQLCompositeType): number => {
    let total = 0;
    for (const selection of selectionSet.selections) {
      if (selection.kind === Kind.INLINE_FRAGMENT) {
        const type = selection.typeCondition ? schema.getType(selection.typeCondition.name.value) : parentType;
        if (type && isCompositeType(type)) total += selectionCost(selection.selectionSet, type);
        continue;
      }
      if (selection.kind === Kind.FRAGMENT_SPREAD) {
        total += fragmentCost(selection.name.value);
        continue;
      }
      const name = selection.name.value;
      // __typename is a scalar; __schema and __type are exempt so that GraphiQL's and codegen's introspection passes.
      if (name.startsWith("__") || !("getFields" in parentType)) continue;
      const definition = parentType.getFields()[name];
      if (!definition) continue;
      const namedType = getNamedType(definition.type);
      if (!isCompositeType(namedType) || !selection.selectionSet) continue;
      const inner = selectionCost(selection.selectionSet, namedType);
      const free =
        ((name === "edges" || name === "pageInfo") && isConnection(parentType)) || (name === "node" && isEdge(parentType));
      if (free) total += inner;
      else if (isConnection(namedType)) total += 1 + sizeOf(selection) * inner;
      else if (isListType(getNullableType(definition.type))) total += 1 + LIST_SIZE * inner;
      else total += 1 + inner;
    }
    return total;
  };

  const fragmentCost = (name: string): number => {
    const known = fragmentCosts.get(name);
    if (known !== undefined) return known ?? 0;
    const fragment = fragments.get(name);
    const type = fragment && schema.getType(fragment.typeCondition.name.value);
    if (!fragment || !type || !isCompositeType(type)) return 0;
    fragmentCosts.set(name, null);
    const cost = selectionCost(fragment.selectionSet, type);
    fragmentCosts.set(name, cost);
    return cost;
  };

  return selectionCost(operation.selectionSet, root);
}

function argumentValue(node: ValueNode, variable: (name: string) => unknown): unknown {
  if (node.kind === Kind.VARIABLE) return variable(node.name.value);
  return valueFromASTUntyped(node);
}

/** The MAX_COST error: a request error, refused before any database work. */
export function costError(cost: number, limit: number): GraphQLError {
  return new GraphQLError(`Query cost limit of ${limit} exceeded, found ${cost}.`, {
    extensions: { code: "GRAPHQL_VALIDATION_FAILED", reason: "MAX_COST", cost, limit },
  });
}

/**
 * Refuses a valid document whose most expensive operation costs more than `limit`. Runs at the end of validation
 * (before the context is built, so before the token is verified or the user row touched) with the request's variables.
 *
 * It throws rather than replacing the validation result: Yoga's validation cache stores the result after this hook,
 * per document, and would then refuse the same document with smaller variables.
 */
export function queryCostPlugin(limit: number): Plugin {
  return {
    onValidate({ context, params }) {
      const variables = (context as { params?: { variables?: unknown } }).params?.variables;
      return ({ valid }) => {
        if (!valid) return;
        const raw = typeof variables === "object" && variables !== null && !Array.isArray(variables) ? (variables as Record<string, unknown>) : {};
        const cost = documentCost(params.schema, params.documentAST, raw);
        if (cost > limit) throw costError(cost, limit);
      };
    },
  };
}

/** Per parsed document: the variables its sizes read, and its cost for the values of those seen so far. */
interface CostCache {
  schema: GraphQLSchema;
  sizeVariables: string[];
  costs: Map<string, number>;
}

const costCaches = new WeakMap<DocumentNode, CostCache>();
/** Distinct size-variable values remembered per document (a page size is 0..100; a client sends a few). */
const COSTS_PER_DOCUMENT = 64;

/**
 * The cost of a document's most expensive operation. The cost depends on the variables only through the `first` and
 * `last` arguments that are variables, so it is remembered per parsed document (Yoga's parser cache hands out the
 * same object for the same text) and per values of those variables: a client repeating a query with the same page
 * size pays a map look-up instead of a walk over the document and the schema.
 */
export function documentCost(schema: GraphQLSchema, document: DocumentNode, variables: Record<string, unknown>): number {
  let cache = costCaches.get(document);
  if (!cache || cache.schema !== schema) {
    cache = { schema, sizeVariables: sizeVariables(document), costs: new Map() };
    costCaches.set(document, cache);
  }
  // What sizeOf makes of each: a finite number, something else (ignored), or absent (the declared default).
  const key = cache.sizeVariables
    .map((name) => (!Object.hasOwn(variables, name) ? "-" : typeof variables[name] === "number" && Number.isFinite(variables[name]) ? String(variables[name]) : "x"))
    .join(",");
  const known = cache.costs.get(key);
  if (known !== undefined) return known;
  let cost = 0;
  for (const value of operationCosts(schema, document, variables).values()) cost = Math.max(cost, value);
  if (cache.costs.size < COSTS_PER_DOCUMENT) cache.costs.set(key, cost);
  return cost;
}

/** The names of the variables passed as `first` or `last` anywhere in the document. */
function sizeVariables(document: DocumentNode): string[] {
  const names = new Set<string>();
  visit(document, {
    Argument(node) {
      if ((node.name.value === "first" || node.name.value === "last") && node.value.kind === Kind.VARIABLE) names.add(node.value.name.value);
    },
  });
  return [...names];
}

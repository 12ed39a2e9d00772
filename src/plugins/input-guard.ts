/**
 * One check over every argument of every field in the operation, before anything runs: strings (arguments, input
 * fields, variables, JSON keys and values) must be storable text, JSON values at most LIMITS.jsonDepth deep, lists
 * at most LIMITS.listItems long. A failure is BAD_USER_INPUT naming the argument or input field, for the whole
 * request, so a mutation with a bad value anywhere in its document writes nothing.
 *
 * It works from the schema's argument types, so every field added later is covered without being listed here;
 * resolvers then check what is particular to them (an address, a slug, a size).
 *
 * The walk over the document is done once per parsed document: which fields pass arguments that can hold text, JSON
 * or a list. A request then only coerces its variables and checks those arguments, and one whose arguments are all
 * numbers or booleans (a page size) checks nothing at all. (The walk was about 40 µs per request of benchmark B.)
 */
import {
  getArgumentValues,
  getNamedType,
  getVariableValues,
  getOperationAST,
  isInputObjectType,
  isListType,
  isNonNullType,
  isScalarType,
  Kind,
  TypeInfo,
  visit,
  visitWithTypeInfo,
  type DocumentNode,
  type FieldNode,
  type GraphQLField,
  type GraphQLInputType,
  type GraphQLSchema,
  type OperationDefinitionNode,
} from "graphql";
import type { Plugin } from "graphql-yoga";
import { BadUserInputError } from "../errors.js";
import { LIMITS, requireStorableJson, requireStorableText } from "../validation.js";

export function inputGuard(): Plugin {
  return {
    onExecute({ args }) {
      checkOperationInput(args.schema, args.document, args.variableValues ?? {}, args.operationName);
    },
    onSubscribe({ args }) {
      checkOperationInput(args.schema, args.document, args.variableValues ?? {}, args.operationName);
    },
  };
}

/** A field of the document whose arguments can hold something to check, with its definition. */
interface Checked {
  field: GraphQLField<unknown, unknown>;
  node: FieldNode;
}

/** What a document needs checked for one of its operations: found once per document, then used by every request. */
interface Plan {
  schema: GraphQLSchema;
  operation: OperationDefinitionNode | undefined;
  checked: Checked[];
}

/** document -> operation name ("" when none is given) -> plan. Yoga's parser cache hands out the same document object. */
const plans = new WeakMap<DocumentNode, Map<string, Plan>>();

/** Throws BadUserInputError for the first bad value among the arguments of the operation's fields. */
export function checkOperationInput(
  schema: GraphQLSchema,
  document: DocumentNode,
  rawVariables: Record<string, unknown>,
  operationName?: string | null,
): void {
  const { operation, checked } = planFor(schema, document, operationName);
  // No single operation (graphql-js reports it itself), or no argument that could hold text, JSON or a list.
  if (!operation || checked.length === 0) return;
  // Variables that do not coerce: graphql-js reports those itself (BAD_REQUEST).
  const coerced = getVariableValues(schema, operation.variableDefinitions ?? [], rawVariables, { maxErrors: 1 });
  if (coerced.errors) return;
  const variables = coerced.coerced;
  for (const { field, node } of checked) {
    let values: Record<string, unknown>;
    try {
      values = getArgumentValues(field, node, variables);
    } catch {
      continue; // a missing or uncoercible argument: execution reports it with its own message
    }
    for (const arg of field.args) checkValue(arg.type, values[arg.name], arg.name);
  }
}

function planFor(schema: GraphQLSchema, document: DocumentNode, operationName: string | null | undefined): Plan {
  let byOperation = plans.get(document);
  if (!byOperation) plans.set(document, (byOperation = new Map()));
  const known = byOperation.get(operationName ?? "");
  if (known?.schema === schema) return known;
  const plan = buildPlan(schema, document, operationName);
  byOperation.set(operationName ?? "", plan);
  return plan;
}

/**
 * The fields, in document order, that pass arguments of a type worth checking. Their values depend on the request's
 * variables, so only the walk over the document (with its type information) is done once.
 */
function buildPlan(schema: GraphQLSchema, document: DocumentNode, operationName: string | null | undefined): Plan {
  const operation = getOperationAST(document, operationName) ?? undefined;
  const checked: Checked[] = [];
  if (!operation) return { schema, operation, checked };
  const typeInfo = new TypeInfo(schema);
  const visitor = visitWithTypeInfo(typeInfo, {
    Field(node) {
      const field = typeInfo.getFieldDef();
      if (!field || field.args.length === 0 || !node.arguments?.length) return;
      // An argument left out takes its default from the schema, which needs no check.
      const passed = new Set(node.arguments.map((argument) => argument.name.value));
      if (field.args.some((arg) => passed.has(arg.name) && mayHoldCheckedValue(arg.type))) checked.push({ field, node });
    },
  });
  // The executed operation and the fragments (validation has refused unused ones); other operations never run.
  for (const definition of document.definitions) {
    if (definition.kind === Kind.OPERATION_DEFINITION && definition !== operation) continue;
    visit(definition, visitor);
  }
  return { schema, operation, checked };
}

/** Scalars whose coerced values are never strings, JSON or lists: checkValue has nothing to say about them. */
const UNCHECKED_SCALARS = new Set(["Int", "Float", "Boolean"]);

/** Whether a value of `type` can contain anything checkValue refuses: text, JSON or a list. */
function mayHoldCheckedValue(type: GraphQLInputType, seen = new Set<GraphQLInputType>()): boolean {
  if (isNonNullType(type)) return mayHoldCheckedValue(type.ofType, seen);
  if (isListType(type)) return true;
  if (isInputObjectType(type)) {
    if (seen.has(type)) return false;
    seen.add(type);
    return Object.values(type.getFields()).some((inner) => mayHoldCheckedValue(inner.type, seen));
  }
  return isScalarType(type) && !UNCHECKED_SCALARS.has(type.name);
}

function checkValue(type: GraphQLInputType, value: unknown, field: string): void {
  if (value == null) return;
  if (isNonNullType(type)) return checkValue(type.ofType, value, field);
  if (isListType(type)) {
    const items = Array.isArray(value) ? value : [value];
    if (items.length > LIMITS.listItems) {
      throw new BadUserInputError(field, `${field} must hold at most ${LIMITS.listItems} items (got ${items.length}).`);
    }
    for (const item of items) checkValue(type.ofType, item, field);
    return;
  }
  if (isInputObjectType(type)) {
    for (const inner of Object.values(type.getFields())) {
      checkValue(inner.type, (value as Record<string, unknown>)[inner.name], inner.name);
    }
    return;
  }
  const named = getNamedType(type);
  if (!isScalarType(named)) return;
  if (named.name === "JSON") requireStorableJson(value, field);
  else if (typeof value === "string") requireStorableText(value, field);
}

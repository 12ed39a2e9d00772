/**
 * One check over every argument of every field in the operation, before anything runs: strings (arguments, input
 * fields, variables, JSON keys and values) must be storable text, JSON values at most LIMITS.jsonDepth deep, lists
 * at most LIMITS.listItems long. A failure is BAD_USER_INPUT naming the argument or input field, for the whole
 * request, so a mutation with a bad value anywhere in its document writes nothing.
 *
 * It works from the schema's argument types, so every field added later is covered without being listed here;
 * resolvers then check what is particular to them (an address, a slug, a size).
 */
import {
  getArgumentValues,
  getNamedType,
  getVariableValues,
  isInputObjectType,
  isListType,
  isNonNullType,
  isScalarType,
  Kind,
  TypeInfo,
  visit,
  visitWithTypeInfo,
  type DocumentNode,
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

/** Throws BadUserInputError for the first bad value among the arguments of the operation's fields. */
export function checkOperationInput(
  schema: GraphQLSchema,
  document: DocumentNode,
  rawVariables: Record<string, unknown>,
  operationName?: string | null,
): void {
  const operations = document.definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
  const operation = operationName ? operations.find((o) => o.name?.value === operationName) : operations.length === 1 ? operations[0] : undefined;
  // No single operation, or variables that do not coerce: graphql-js reports those itself (BAD_REQUEST).
  if (!operation) return;
  const coerced = getVariableValues(schema, operation.variableDefinitions ?? [], rawVariables, { maxErrors: 1 });
  if (coerced.errors) return;
  const variables = coerced.coerced;

  const typeInfo = new TypeInfo(schema);
  const visitor = visitWithTypeInfo(typeInfo, {
    Field(node) {
      const field = typeInfo.getFieldDef();
      if (!field || field.args.length === 0 || !node.arguments?.length) return;
      let values: Record<string, unknown>;
      try {
        values = getArgumentValues(field, node, variables);
      } catch {
        return; // a missing or uncoercible argument: execution reports it with its own message
      }
      for (const arg of field.args) checkValue(arg.type, values[arg.name], arg.name);
    },
  });
  // The executed operation and the fragments (validation has refused unused ones); other operations never run.
  for (const definition of document.definitions) {
    if (definition.kind === Kind.OPERATION_DEFINITION && definition !== operation) continue;
    visit(definition, visitor);
  }
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

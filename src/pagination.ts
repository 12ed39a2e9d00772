/**
 * Connection arguments are checked, not clamped: `first`/`last` outside 0..100 is BAD_USER_INPUT, as are a cursor
 * this server did not issue and an email filter that is not an address. Built from the schema, so every connection
 * field is covered, including new ones.
 *
 * Two layers: each connection field checks its own arguments (the error then points at that field), and each root
 * field checks the arguments of every connection in its selection before it runs. The second is needed because a
 * nested connection (organization { invitations(after: …) }) is loaded by the root field's single Prisma query, so
 * its cursor reaches the database before the nested field's own check would run; and because a mutation must refuse
 * a bad argument anywhere in its selection before it writes.
 */
import { isObjectType, Kind, type GraphQLResolveInfo, type GraphQLSchema, type SelectionSetNode, type ValueNode } from "graphql";
import type { IMiddlewareFieldMap } from "graphql-middleware";
import { BadUserInputError } from "./errors.js";
import { checkPageSize, requireEmail } from "./validation.js";
import { decodeCursor } from "./schema/connections.js";
import { schema } from "./schema/index.js";


/**
 * Every list pages by (createdAt, id) with cursors from src/schema/connections.ts; anything else is refused here,
 * before it can reach a statement.
 */
function checkCursor(value: unknown, field: "after" | "before"): void {
  if (value == null) return;
  if (!decodeCursor(value)) throw new BadUserInputError(field, `${field} is not a cursor of this list.`);
}

type Resolve = (parent: unknown, args: Record<string, unknown>, ctx: unknown, info: GraphQLResolveInfo) => unknown;
type Middleware = (resolve: Resolve, parent: unknown, args: Record<string, unknown>, ctx: unknown, info: GraphQLResolveInfo) => unknown;

interface ConnectionArgs {
  first?: number | null;
  last?: number | null;
  after?: string | null;
  before?: string | null;
}

function checkPaging(args: ConnectionArgs): void {
  checkPageSize(args.first, "first");
  checkPageSize(args.last, "last");
  checkCursor(args.after, "after");
  checkCursor(args.before, "before");
}

const checkConnectionArgs: Middleware = (resolve, parent, args, ctx, info) => {
  checkPaging(args as ConnectionArgs);
  const { email } = args as { email?: string | null };
  if (email != null) requireEmail(email, "email");
  return resolve(parent, args, ctx, info);
};

const PAGING_ARGS = new Set(["first", "last", "after", "before"]);

function literal(node: ValueNode, variables: Record<string, unknown>): unknown {
  switch (node.kind) {
    case Kind.VARIABLE:
      return variables[node.name.value];
    case Kind.INT:
      return Number(node.value);
    case Kind.STRING:
      return node.value;
    default:
      return undefined;
  }
}

/** Checks the paging arguments of every field in a selection set (fragments included), at any depth. */
function checkSelection(selectionSet: SelectionSetNode | undefined, info: GraphQLResolveInfo, visited: Set<string>): void {
  if (!selectionSet) return;
  for (const selection of selectionSet.selections) {
    if (selection.kind === Kind.FIELD) {
      const args: Record<string, unknown> = {};
      for (const argument of selection.arguments ?? []) {
        if (PAGING_ARGS.has(argument.name.value)) args[argument.name.value] = literal(argument.value, info.variableValues);
      }
      checkPaging(args as ConnectionArgs);
      checkSelection(selection.selectionSet, info, visited);
    } else if (selection.kind === Kind.INLINE_FRAGMENT) {
      checkSelection(selection.selectionSet, info, visited);
    } else {
      const name = selection.name.value;
      if (visited.has(name)) continue;
      visited.add(name);
      checkSelection(info.fragments[name]?.selectionSet, info, visited);
    }
  }
}

const checkNestedConnectionArgs: Middleware = (resolve, parent, args, ctx, info) => {
  for (const node of info.fieldNodes) checkSelection(node.selectionSet, info, new Set());
  return resolve(parent, args, ctx, info);
};

function connectionFields(target: GraphQLSchema): IMiddlewareFieldMap {
  const map: IMiddlewareFieldMap = {};
  const roots = new Set([target.getQueryType()?.name, target.getMutationType()?.name]);
  for (const type of Object.values(target.getTypeMap())) {
    if (!isObjectType(type) || type.name.startsWith("__")) continue;
    for (const field of Object.values(type.getFields())) {
      const isConnection = field.args.some((a) => a.name === "first" || a.name === "last");
      const isRoot = roots.has(type.name);
      if (!isConnection && !isRoot) continue;
      const fields = (map[type.name] ??= {}) as Record<string, Middleware>;
      fields[field.name] =
        isConnection && isRoot
          ? (resolve: Resolve, parent: unknown, args: Record<string, unknown>, ctx: unknown, info: GraphQLResolveInfo) =>
              checkNestedConnectionArgs((p, a, c, i) => checkConnectionArgs(resolve, p, a, c, i), parent, args, ctx, info)
          : isConnection
            ? checkConnectionArgs
            : checkNestedConnectionArgs;
    }
  }
  return map;
}

export const connectionArgsMiddleware = connectionFields(schema);

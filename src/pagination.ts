/**
 * Connection arguments are checked, not clamped: `first`/`last` outside 0..100 is BAD_USER_INPUT, as is an email
 * filter that is not an address. Built from the schema, so every connection field is covered, including new ones.
 */
import { isObjectType, type GraphQLSchema } from "graphql";
import type { IMiddlewareFieldMap, IMiddlewareFunction } from "graphql-middleware";
import { checkPageSize, requireEmail } from "./validation.js";
import { schema } from "./schema/index.js";

const checkConnectionArgs: IMiddlewareFunction = (resolve, parent, args, ctx, info) => {
  const { first, last, email } = args as { first?: number | null; last?: number | null; email?: string | null };
  checkPageSize(first, "first");
  checkPageSize(last, "last");
  if (email != null) requireEmail(email, "email");
  return resolve(parent, args, ctx, info);
};

function connectionFields(target: GraphQLSchema): IMiddlewareFieldMap {
  const map: IMiddlewareFieldMap = {};
  for (const type of Object.values(target.getTypeMap())) {
    if (!isObjectType(type) || type.name.startsWith("__")) continue;
    for (const field of Object.values(type.getFields())) {
      if (field.args.some((a) => a.name === "first" || a.name === "last")) {
        const fields = (map[type.name] ??= {}) as Record<string, IMiddlewareFunction>;
        fields[field.name] = checkConnectionArgs;
      }
    }
  }
  return map;
}

export const connectionArgsMiddleware = connectionFields(schema);

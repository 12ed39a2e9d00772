/** Imports every domain file (each registers its types and fields) and builds the schema. */
import { isObjectType, type GraphQLFieldResolver, type GraphQLSchema } from "graphql";
import { builder, encodeId } from "../builder.js";
import { COMPILED_ROW } from "../db/read-sql.js";
import "./event.js";
import "./group.js";
import "./invitation.js";
import "./membership.js";
import "./organization.js";
import "./preview.js";
import "./role.js";
import "./subscription.js";
import "./user.js";
import "./webhook.js";

/**
 * Gives every Node type's `id` a synchronous resolver. Pothos' Relay plugin resolves it through an `async` function
 * (`t.globalID`), so each row of a list returned a promise for its id: the executor then completed every node, and
 * every edge around it, through its promise path (a promise, a result object and several closures per row). For an
 * admin's page of 50 invitations that was the largest share of what the executor allocated. The encoding is the
 * builder's own (`encodeId`, the same `relay.encodeGlobalID`); every Node type here is keyed by its `id` column
 * (`prismaNode(…, { id: { field: "id" } })`), and test/schema-resolvers.test.ts checks both against Pothos' resolver.
 */
export function synchronousNodeIds(built: GraphQLSchema): GraphQLSchema {
  for (const type of Object.values(built.getTypeMap())) {
    if (!isObjectType(type) || !type.getInterfaces().some((iface) => iface.name === "Node")) continue;
    const field = type.getFields().id;
    if (!field) continue;
    const typename = type.name;
    field.resolve = (parent: { id: string }) => encodeId(typename, parent.id);
  }
  return built;
}

/**
 * Lets the fields of compiled rows (src/db/read-sql.ts, marked COMPILED_ROW) resolve with their own resolver. Pothos'
 * plugin-prisma wraps every field that selects data (relations, counts, fields with a `select`): for each row it
 * works out the row's response path and looks up, then records, which query loaded it (WeakMaps keyed by path), to
 * decide whether the data is there or must be fetched. That was 6-8% of the CPU of an admin's page of 50
 * invitations, plus the garbage. A compiled row was built from Pothos' own query for the selection at its place, so
 * the data is there by construction, and so are its related rows' (compiled and marked too). Rows from anywhere
 * else (mutation payloads, Prisma fallbacks) go through Pothos as before. Fields with arguments are left wrapped.
 */
export function resolveCompiledRowsDirectly(built: GraphQLSchema): GraphQLSchema {
  for (const type of Object.values(built.getTypeMap())) {
    if (!isObjectType(type) || type.name.startsWith("__")) continue;
    for (const field of Object.values(type.getFields())) {
      const extensions = field.extensions as { pothosPrismaSelect?: unknown; pothosOriginalResolve?: unknown };
      const own = extensions.pothosOriginalResolve;
      const wrapped = field.resolve;
      if (!extensions.pothosPrismaSelect || typeof own !== "function" || !wrapped || field.args.length > 0) continue;
      const direct = own as GraphQLFieldResolver<unknown, unknown>;
      field.resolve = (parent, args, ctx, info) =>
        (parent as { [COMPILED_ROW]?: boolean } | null)?.[COMPILED_ROW] === true ? direct(parent, args, ctx, info) : wrapped(parent, args, ctx, info);
    }
  }
  return built;
}

export const schema = resolveCompiledRowsDirectly(synchronousNodeIds(builder.toSchema({ sortSchema: true })));

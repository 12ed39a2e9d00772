/** Imports every domain file (each registers its types and fields) and builds the schema. */
import { isObjectType, type GraphQLSchema } from "graphql";
import { builder, encodeId } from "../builder.js";
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
 * (`prismaNode(…, { id: { field: "id" } })`), and test/node-id.test.ts checks both against Pothos' resolver.
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

export const schema = synchronousNodeIds(builder.toSchema({ sortSchema: true }));

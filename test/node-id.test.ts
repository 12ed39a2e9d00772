/**
 * src/schema/index.ts gives every Node type's `id` a synchronous resolver instead of Pothos' async one (a promise per
 * row of every list). It must answer exactly what Pothos answers, for every Node type.
 */
import { isObjectType, type GraphQLFieldResolver, type GraphQLObjectType } from "graphql";
import { expect, test } from "vitest";
import { builder, decodeId } from "../src/builder.js";
import { uuidv7 } from "../src/ids.js";
import { schema } from "../src/schema/index.js";

const nodeTypes = (built: typeof schema) =>
  Object.values(built.getTypeMap()).filter(
    (type): type is GraphQLObjectType => isObjectType(type) && type.getInterfaces().some((iface) => iface.name === "Node"),
  );

test("every Node type's id resolves synchronously, to the global id Pothos' own resolver gives", async () => {
  const pothos = builder.toSchema({ sortSchema: true });
  const types = nodeTypes(schema);
  expect(types.map((type) => type.name).sort()).toEqual(nodeTypes(pothos).map((type) => type.name).sort());
  expect(types.length).toBeGreaterThanOrEqual(7);
  for (const type of types) {
    const row = { id: uuidv7() };
    const resolve = (built: typeof schema) =>
      (built.getType(type.name) as GraphQLObjectType).getFields().id!.resolve as GraphQLFieldResolver<unknown, object>;
    const ours = resolve(schema)(row, {}, {}, {} as never);
    expect(typeof ours, type.name).toBe("string");
    const theirs: unknown = await resolve(pothos)(row, {}, {}, {} as never);
    expect(ours).toBe(theirs);
    expect(decodeId(ours as string)).toEqual({ typename: type.name, id: row.id });
  }
});

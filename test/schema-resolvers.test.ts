/**
 * What src/schema/index.ts changes in the resolvers Pothos built: every Node type's `id` resolves synchronously
 * (Pothos' own is async: a promise per row of every list) and must answer exactly what Pothos answers; fields of a
 * compiled row (src/db/read-sql.ts) resolve without Pothos' per-row bookkeeping, and other rows still go through it.
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

test("fields of a compiled row resolve with their own resolver, other rows through Pothos", async () => {
  const { COMPILED_ROW } = await import("../src/db/read-sql.js");
  const invitation = schema.getType("Invitation") as GraphQLObjectType;
  const role = invitation.getFields().role!.resolve as GraphQLFieldResolver<unknown, object>;
  const row = { id: uuidv7(), role: { id: uuidv7(), key: "member" }, [COMPILED_ROW]: true };
  // No request context and no resolve info: Pothos' wrapper could not run on these, the field's own resolver can.
  expect(role(row, {}, {}, {} as never)).toBe(row.role);
  const { [COMPILED_ROW]: _mark, ...plain } = row;
  expect(() => role(plain, {}, {}, {} as never)).toThrow();
});

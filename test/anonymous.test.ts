/**
 * Anonymous requests reach nothing but what is public: every root query and mutation, called without a token with
 * arguments of the right types, is refused with UNAUTHENTICATED before it runs. Public root fields would be listed
 * in the rule tree's OPEN list with a reason; today there is one, invitationPreview (the invitation page before
 * sign-in). The fields are taken from the schema, so a new one is covered the day it is added.
 */
import {
  getNullableType,
  isEnumType,
  isInputObjectType,
  isListType,
  isNonNullType,
  isObjectType,
  isAbstractType,
  getNamedType,
  type GraphQLField,
  type GraphQLInputType,
} from "graphql";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OPEN } from "../src/permissions/index.js";
import { schema } from "../src/schema/index.js";
import { startApp, type TestApp } from "./helpers/app.js";

let app: TestApp;
beforeAll(async () => {
  app = await startApp();
});
afterAll(() => app?.close());

/** A literal of the type that passes validation and coercion: required input fields only, plausible scalars. */
function literal(type: GraphQLInputType): string {
  if (isNonNullType(type)) return literal(type.ofType);
  if (isListType(type)) return `[${literal(type.ofType)}]`;
  if (isEnumType(type)) return type.getValues()[0]!.name;
  if (isInputObjectType(type)) {
    const required = Object.values(type.getFields()).filter((f) => isNonNullType(f.type) && f.defaultValue === undefined);
    return `{ ${required.map((f) => `${f.name}: ${literal(f.type)}`).join(", ")} }`;
  }
  switch (type.name) {
    case "Int":
    case "Float":
      return "1";
    case "Boolean":
      return "false";
    case "DateTime":
      return JSON.stringify("2030-01-01T00:00:00.000Z");
    case "JSON":
      return "{}";
    case "ID":
      // Not a valid ID: a rule must ask for a viewer before it reads its input.
      return JSON.stringify("not-an-id");
    default:
      return JSON.stringify("anonymous@example.test");
  }
}

function documentFor(operation: "query" | "mutation", field: GraphQLField<unknown, unknown>): string {
  const required = field.args.filter((a) => isNonNullType(a.type) && a.defaultValue === undefined);
  const args = required.length ? `(${required.map((a) => `${a.name}: ${literal(a.type)}`).join(", ")})` : "";
  const returned = getNamedType(field.type);
  const selection = isObjectType(returned) || isAbstractType(returned) ? " { __typename }" : "";
  return `${operation} { ${field.name}${args}${selection} }`;
}

const roots = [
  ["query", schema.getQueryType()!],
  ["mutation", schema.getMutationType()!],
] as const;

describe("anonymous requests", () => {
  for (const [operation, root] of roots) {
    for (const field of Object.values(root.getFields())) {
      // A public root field (listed in OPEN) is answered for anonymous requests; its own test is below.
      if (OPEN[`${root.name}.${field.name}`] !== undefined) continue;
      it(`${root.name}.${field.name} is UNAUTHENTICATED`, async () => {
        const result = await app.gql(documentFor(operation, field), {}, null);
        expect(result.errors, JSON.stringify(result)).toHaveLength(1);
        expect(result.errors![0]!.extensions?.code, JSON.stringify(result.errors)).toBe("UNAUTHENTICATED");
        expect(result.errors![0]!.path).toEqual([field.name]);
        const value = (result.data as Record<string, unknown> | null | undefined)?.[field.name];
        expect(value ?? null).toBeNull();
      });
    }
  }

  it("covers every root field (invitationPreview is the one public root)", () => {
    const publicRoots = Object.keys(OPEN).filter((key) => key.startsWith("Query.") || key.startsWith("Mutation."));
    expect(publicRoots).toEqual(["Query.invitationPreview"]);
  });

  it("answers the public preview without a token: an unknown token is NOT_FOUND, not UNAUTHENTICATED", async () => {
    const result = await app.gql(`{ invitationPreview(token: "inv_unknown") { status } }`, {}, null);
    expect(result.errors, JSON.stringify(result)).toHaveLength(1);
    expect(result.errors![0]!.extensions?.code).toBe("NOT_FOUND");
  });

  it("still reach introspection (GraphiQL and codegen need it)", async () => {
    const result = await app.gql(`{ __schema { queryType { name } } }`, {}, null);
    expect(result.errors).toBeUndefined();
    expect(result.data.__schema.queryType.name).toBe("Query");
  });
});

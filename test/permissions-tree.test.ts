/**
 * Deny by default, proven on the schema itself: every field of every object type has a rule in the shield tree or a
 * stated reason to be open, no entry of the tree or of the open list names something the schema lacks, and the
 * entries derived from the schema (mutation payloads, connections) open exactly what they should.
 */
import { buildSchema, getNamedType, isObjectType, type GraphQLSchema } from "graphql";
import { allow } from "../src/permissions/shield.js";
import { describe, expect, it } from "vitest";
import { derivedOpenTypes, OPEN, ruleTreeFor } from "../src/permissions/index.js";
import { schema } from "../src/schema/index.js";

type Tree = ReturnType<typeof ruleTreeFor>;
const isFieldMap = (rules: unknown): rules is Record<string, unknown> =>
  typeof rules === "object" && rules !== null && Object.getPrototypeOf(rules) === Object.prototype;

function objectTypes(s: GraphQLSchema) {
  return Object.values(s.getTypeMap()).filter((t) => isObjectType(t) && !t.name.startsWith("__")).map((t) => t as import("graphql").GraphQLObjectType);
}

/** "Type.field" for every field the tree leaves to the fallback (deny) without anyone having decided. */
function undecided(s: GraphQLSchema, tree: Tree): string[] {
  const missing: string[] = [];
  for (const type of objectTypes(s)) {
    const rules = tree[type.name];
    for (const field of Object.keys(type.getFields())) {
      if (rules === undefined || (isFieldMap(rules) && rules[field] === undefined)) missing.push(`${type.name}.${field}`);
    }
  }
  return missing;
}

describe("the rule tree of the built schema", () => {
  const tree = ruleTreeFor(schema);

  it("decides every field of every object type", () => {
    expect(objectTypes(schema).length).toBeGreaterThan(10);
    expect(undecided(schema, tree)).toEqual([]);
  });

  it("lists fields one by one: no wildcard, so a new field of a type is denied until decided", () => {
    const wildcards = Object.entries(tree).filter(([, rules]) => isFieldMap(rules) && "*" in rules).map(([type]) => type);
    expect(wildcards).toEqual([]);
  });

  it("names only types and fields the schema has (no stale rules)", () => {
    const stale: string[] = [];
    for (const [typeName, rules] of Object.entries(tree)) {
      const type = schema.getType(typeName);
      if (!isObjectType(type)) {
        stale.push(typeName);
        continue;
      }
      if (isFieldMap(rules)) for (const field of Object.keys(rules)) if (!type.getFields()[field]) stale.push(`${typeName}.${field}`);
    }
    expect(stale).toEqual([]);
  });

  it("has a one-line reason for every open field, and no reason for a field that is not open", () => {
    const derived = new Set(derivedOpenTypes(schema).map((d) => d.type));
    const openInTree: string[] = [];
    for (const [type, rules] of Object.entries(tree)) {
      if (rules === allow) {
        expect(derived.has(type), `${type} is open as a whole but not derived from the schema`).toBe(true);
        continue;
      }
      if (isFieldMap(rules)) for (const [field, rule] of Object.entries(rules)) if (rule === allow) openInTree.push(`${type}.${field}`);
    }
    expect(openInTree.sort()).toEqual(Object.keys(OPEN).sort());
    for (const [key, reason] of Object.entries(OPEN)) {
      expect(reason.trim().length, key).toBeGreaterThan(20);
      expect(reason, key).not.toContain("\n");
    }
    for (const { type, reason } of derivedOpenTypes(schema)) expect(reason.length, type).toBeGreaterThan(20);
  });

  it("gives every root field its own rule; the only public root field is invitationPreview", () => {
    const open: string[] = [];
    for (const root of [schema.getQueryType()!, schema.getMutationType()!]) {
      const rules = tree[root.name];
      expect(isFieldMap(rules)).toBe(true);
      for (const field of Object.keys(root.getFields())) {
        expect((rules as Record<string, unknown>)[field], `${root.name}.${field}`).toBeDefined();
        if ((rules as Record<string, unknown>)[field] === allow) open.push(`${root.name}.${field}`);
      }
    }
    expect(open).toEqual(["Query.invitationPreview"]);
  });

  it("opens each mutation's payload, each connection and its edge, derived from the schema", () => {
    const derived = new Set(derivedOpenTypes(schema).map((d) => d.type));
    const payloads = Object.values(schema.getMutationType()!.getFields()).map((f) => getNamedType(f.type).name);
    expect(payloads.length).toBeGreaterThan(5);
    for (const payload of payloads) expect(derived.has(payload), payload).toBe(true);
    for (const type of ["InvitationConnection", "InvitationEdge", "MembershipConnection", "MembershipEdge"]) expect(derived.has(type), type).toBe(true);
    // Nothing else: domain types are opened field by field in OPEN, never as a whole.
    for (const type of derived) expect(type).toMatch(/(Payload|Connection|Edge)$/);
  });
});

describe("a schema that grows", () => {
  // The real rule tree applied to the real schema plus what a careless change would add.
  const grown = buildSchema(/* GraphQL */ `
    type Query { viewer: User! organization(id: ID!): Organization secretReport: String }
    type Mutation { createOrganization(input: String): CreateOrganizationPayload! exportEverything: ExportPayload! }
    type User { id: ID! name: String }
    type Organization { id: ID! name: String webhookSecret: String }
    type CreateOrganizationPayload { organization: Organization! }
    type ExportPayload { dump: String! }
  `);
  const tree = ruleTreeFor(grown);

  it("leaves a new query, a new mutation and its payload, and a new field of an open type undecided, so the walk fails", () => {
    expect(undecided(grown, tree).sort()).toEqual(
      ["ExportPayload.dump", "Mutation.exportEverything", "Organization.webhookSecret", "Query.secretReport"].sort(),
    );
  });

  it("does not open the payload of a mutation that has no rule", () => {
    const derived = derivedOpenTypes(grown).map((d) => d.type);
    expect(derived).toContain("CreateOrganizationPayload");
    expect(derived).not.toContain("ExportPayload");
  });
});

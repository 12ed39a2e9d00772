/**
 * The cost rule on its own: the contract's worked example, nesting, fragments, variables and what is free.
 */
import { parse } from "graphql";
import { describe, expect, it } from "vitest";
import { documentCost, operationCosts } from "../src/plugins/query-cost.js";
import { schema } from "../src/schema/index.js";

function cost(query: string, variables?: Record<string, unknown>): number {
  return Math.max(...operationCosts(schema, parse(query), variables).values());
}

const EXAMPLE = /* GraphQL */ `invitations(first: 100) { edges { node { id role { key } groups { id } } } }`;

describe("query cost", () => {
  it("the contract's example: 1 + 100 + 100", () => {
    // organization itself costs 1 more.
    expect(cost(`{ organization(id: "x") { ${EXAMPLE} } }`)).toBe(1 + 201);
  });

  it("nesting the example under a connection of 100 multiplies it by 100", () => {
    const nested = `{ organization(id: "x") { invitations(first: 100) { edges { node { organization { ${EXAMPLE} } } } } } }`;
    // organization 1, outer invitations 1, each of 100 nodes: organization 1 + the example 201.
    expect(cost(nested)).toBe(1 + 1 + 100 * (1 + 201));
  });

  it("scalars, __typename, pageInfo and totalCount are free; a connection alone costs 1", () => {
    expect(cost(`{ viewer { id email name } }`)).toBe(1);
    expect(cost(`{ organization(id: "x") { invitations(first: 100) { totalCount pageInfo { hasNextPage endCursor } edges { cursor node { id __typename } } } } }`)).toBe(2);
  });

  it("a connection without first or last counts as 20; last counts like first", () => {
    expect(cost(`{ organization(id: "x") { invitations { edges { node { role { id } } } } } }`)).toBe(1 + 1 + 20);
    expect(cost(`{ organization(id: "x") { invitations(last: 7) { edges { node { role { id } } } } } }`)).toBe(1 + 1 + 7);
  });

  it("a plain list of objects counts as 20 around what it selects", () => {
    // roles costs 1; nothing beneath it is an object.
    expect(cost(`{ organization(id: "x") { roles { id key permissions } } }`)).toBe(2);
    expect(cost(`{ invitation(id: "x") { groups { id } organization { roles { id } } } }`)).toBe(1 + 1 + 1 + 1);
    expect(cost(`{ organization(id: "x") { members(first: 10) { edges { node { groups { id } user { id } } } } } }`)).toBe(1 + 1 + 10 * 2);
  });

  it("variables are resolved to their values, then to their defaults, then to 20", () => {
    const query = `query($n: Int) { organization(id: "x") { invitations(first: $n) { edges { node { role { id } } } } } }`;
    expect(cost(query, { n: 100 })).toBe(102);
    expect(cost(query, { n: 3 })).toBe(5);
    expect(cost(query, {})).toBe(22);
    expect(cost(query, { n: null })).toBe(22);
    const withDefault = `query($n: Int = 50) { organization(id: "x") { invitations(first: $n) { edges { node { role { id } } } } } }`;
    expect(cost(withDefault, {})).toBe(52);
    expect(cost(withDefault, { n: 1 })).toBe(3);
  });

  it("one parsed document (as Yoga's parser cache hands it out) is costed anew for each page size it is sent with", () => {
    const document = parse(`query($n: Int = 50, $m: Int) { organization(id: "x") { invitations(first: $n) { edges { node { role { id } } } } members(last: $m) { totalCount } } }`);
    expect(documentCost(schema, document, { n: 100 })).toBe(1 + 101 + 1);
    expect(documentCost(schema, document, { n: 3 })).toBe(1 + 4 + 1);
    expect(documentCost(schema, document, {})).toBe(1 + 51 + 1);
    expect(documentCost(schema, document, { n: null })).toBe(1 + 21 + 1);
    expect(documentCost(schema, document, { n: "100" })).toBe(1 + 21 + 1);
    expect(documentCost(schema, document, { n: 100, m: 5 })).toBe(1 + 101 + 1);
    expect(documentCost(schema, document, { n: 100 })).toBe(1 + 101 + 1);
    expect(documentCost(schema, document, { n: 3 })).toBe(1 + 4 + 1);
  });

  it("a size the server refuses anyway counts as the largest page it could load", () => {
    // first: 1000 is BAD_USER_INPUT on the field itself, a clearer answer than MAX_COST.
    expect(cost(`{ organization(id: "x") { invitations(first: 1000) { edges { node { role { id } } } } } }`)).toBe(102);
    expect(cost(`{ organization(id: "x") { invitations(first: -5) { edges { node { role { id } } } } } }`)).toBe(2);
  });

  it("fragments and inline fragments count where they are spread, each time", () => {
    const query = /* GraphQL */ `
      query { organization(id: "x") { ...Invites a: invitations(first: 10) { edges { node { ...Inv } } } } }
      fragment Invites on Organization { invitations(first: 100) { edges { node { ...Inv } } } }
      fragment Inv on Invitation { role { id } ... on Invitation { groups { id } } }
    `;
    expect(cost(query)).toBe(1 + (1 + 100 * 2) + (1 + 10 * 2));
  });

  it("fragments spreading each other stay linear to compute and multiply correctly", () => {
    // Each level spreads the next twice: 2^40 paths, computed once per fragment.
    const levels = 40;
    const fragments = Array.from({ length: levels }, (_, i) =>
      i === levels - 1 ? `fragment F${i} on Organization { roles { id } }` : `fragment F${i} on Organization { ...F${i + 1} ... on Organization { ...F${i + 1} } }`,
    ).join("\n");
    const started = performance.now();
    expect(cost(`{ organization(id: "x") { ...F0 } } ${fragments}`)).toBe(1 + 2 ** (levels - 1));
    expect(performance.now() - started).toBeLessThan(100);
  });

  it("introspection is exempt; the root node field is not free", () => {
    expect(cost(`{ __schema { types { fields { type { ofType { name } } } } } __type(name: "User") { fields { name } } }`)).toBe(0);
    expect(cost(`{ node(id: "x") { id ... on Organization { roles { id } } } }`)).toBe(2);
  });

  it("each operation of a document is costed on its own", () => {
    const costs = operationCosts(schema, parse(`query A { viewer { id } } query B { organization(id: "x") { roles { id } } }`), {});
    expect(Object.fromEntries(costs)).toEqual({ A: 1, B: 2 });
  });
});

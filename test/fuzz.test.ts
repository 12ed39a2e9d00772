/**
 * Property tests through the real server, over every argument of every root query and mutation (read from the
 * schema, so new fields are fuzzed without being listed): arbitrary strings (NUL, unpaired surrogates, huge,
 * unicode), wrong types, nulls, deep JSON, bad IDs and dates, mixed with valid values so requests reach the
 * resolvers. Properties: never INTERNAL_SERVER_ERROR; every error carries a contract code; a refused mutation
 * writes nothing (row counts of every table, on this file's own PGlite database).
 *
 * FUZZ_RUNS sets the number of cases (`npm run fuzz`: 10,000); the normal suite runs 200.
 */
import fc from "fast-check";
import {
  getNamedType,
  isEnumType,
  isInputObjectType,
  isListType,
  isNonNullType,
  isScalarType,
  type GraphQLField,
  type GraphQLInputType,
} from "graphql";
import { afterAll, beforeAll, expect, it } from "vitest";
import { ERROR_CODES } from "../src/errors.js";
import { protectedSchema } from "../src/server.js";
import { startApp, type TestApp, type TestUser } from "./helpers/app.js";
import { createGroup, createOrg, invite, type TestInvitation, type TestOrg } from "./helpers/fixtures.js";

const RUNS = Number(process.env.FUZZ_RUNS ?? 200);
/** What a client may see, but never INTERNAL_SERVER_ERROR. */
const CODES = new Set<string>(ERROR_CODES.filter((code) => code !== "INTERNAL_SERVER_ERROR"));

let app: TestApp;
let owner: TestUser;
let org: TestOrg;
let groupId: string;
let invitation: TestInvitation;
let userId: string;
beforeAll(async () => {
  app = await startApp();
  owner = await app.user({ name: "Fuzz Owner" });
  org = await createOrg(app, owner);
  groupId = await createGroup(app, owner, org.id);
  invitation = await invite(app, owner, org.id, owner.email.replace("@", "+invited@"));
  userId = (await app.ok(`{ viewer { id } }`, {}, owner.token)).viewer.id;
});
afterAll(async () => {
  await app?.close();
});

const nasty = fc.constantFrom(
  "",
  " ",
  "\u0000",
  "a\u0000b",
  "\uD800",
  "x\uDC00",
  "🚀 東京 a\u0301",
  "x".repeat(5_000),
  "inv_",
  "inv_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
  "2026-02-31T00:00:00Z",
  "'; DROP TABLE \"User\"; --",
  "SW52aXRhdGlvbjpub3QtYS11dWlk",
  "R1BDOlM6bm90LWEtdXVpZA==",
);
const text = fc.oneof(fc.string(), fc.string({ unit: "binary", maxLength: 40 }), fc.string({ unit: "grapheme", maxLength: 40 }), nasty);
const deepJson = fc.integer({ min: 1, max: 40 }).map((depth) => {
  let value: unknown = "leaf";
  for (let i = 0; i < depth; i += 1) value = i % 2 ? [value] : { k: value };
  return value;
});
const anyJson = fc.oneof(fc.jsonValue({ maxDepth: 4 }), deepJson, fc.dictionary(text, text, { maxKeys: 4 }));
const wrongType = fc.oneof(fc.integer(), fc.boolean(), fc.double(), fc.constant({}), fc.constant([]), fc.constant(null), text);

function idArbitrary(): fc.Arbitrary<unknown> {
  return fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(org.id, groupId, invitation.id, userId, org.roles.admin, org.roles.member, org.roles.owner) },
    { weight: 2, arbitrary: text },
  );
}

function stringArbitrary(name: string): fc.Arbitrary<unknown> {
  const valid =
    name === "email"
      ? fc.emailAddress()
      : name === "token"
        ? fc.constantFrom(invitation.token, "inv_unknown")
        : name === "after" || name === "before"
          ? fc.constantFrom("R1BDOlM6MDE5NzAwMDAtMDAwMC03MDAwLTgwMDAtMDAwMDAwMDAwMDAw", "bad")
          : fc.string({ minLength: 1, maxLength: 30 });
  return fc.oneof({ weight: 3, arbitrary: valid }, { weight: 2, arbitrary: text });
}

/**
 * Values for `type`. Well-typed (`loose` false) reach the resolvers with hostile contents: nulls only where the type
 * allows them. Loose ones may also be of the wrong type, or null anywhere, and mostly test variable coercion.
 */
function valueFor(type: GraphQLInputType, name: string, loose: boolean): fc.Arbitrary<unknown> {
  const nullable = !isNonNullType(type);
  const inner: GraphQLInputType = isNonNullType(type) ? type.ofType : type;
  let good: fc.Arbitrary<unknown>;
  if (isListType(inner)) {
    const item = valueFor(inner.ofType, name, loose);
    good = fc.oneof({ weight: 5, arbitrary: fc.array(item, { maxLength: 4 }) }, { weight: 1, arbitrary: fc.array(item, { minLength: 101, maxLength: 120 }) });
  } else if (isInputObjectType(inner)) {
    const fields = Object.values(inner.getFields());
    const required = fields.filter((f) => isNonNullType(f.type) && !loose).map((f) => f.name);
    good = fc.record(Object.fromEntries(fields.map((f) => [f.name, valueFor(f.type, f.name, loose)])), { requiredKeys: required });
  } else if (isEnumType(inner)) {
    const values = fc.constantFrom(...inner.getValues().map((v) => v.name));
    good = loose ? fc.oneof(values, text) : values;
  } else if (isScalarType(inner)) {
    switch (inner.name) {
      case "ID":
        good = idArbitrary();
        break;
      case "Int":
        good = loose ? fc.oneof(fc.integer({ min: -5, max: 150 }), fc.integer(), fc.constant(2 ** 40)) : fc.integer({ min: -5, max: 150 });
        break;
      case "Boolean":
        good = fc.boolean();
        break;
      case "DateTime":
        good = fc.oneof(
          fc.integer({ min: -2 * 86_400_000, max: 40 * 86_400_000 }).map((ms) => new Date(Date.now() + ms).toISOString()),
          fc.constantFrom("2026-02-31T00:00:00Z", "2026-12-01T24:00:00Z", "99999-01-01T00:00:00Z", "yesterday", "2026-12-01"),
        );
        break;
      case "JSON":
        good = anyJson;
        break;
      default:
        good = stringArbitrary(name);
    }
  } else {
    good = text;
  }
  if (loose) return fc.oneof({ weight: 6, arbitrary: good }, { weight: 2, arbitrary: wrongType }, { weight: 1, arbitrary: fc.constant(null) });
  return nullable ? fc.oneof({ weight: 8, arbitrary: good }, { weight: 1, arbitrary: fc.constant(null) }) : good;
}

interface Operation {
  kind: "query" | "mutation";
  field: GraphQLField<unknown, unknown>;
  document: string;
}

function operations(): Operation[] {
  const out: Operation[] = [];
  for (const [kind, type] of [["query", protectedSchema.getQueryType()], ["mutation", protectedSchema.getMutationType()]] as const) {
    for (const field of Object.values(type!.getFields())) {
      if (field.args.length === 0) continue;
      const definitions = field.args.map((a) => `$${a.name}: ${a.type.toString()}`).join(", ");
      const args = field.args.map((a) => `${a.name}: $${a.name}`).join(", ");
      const named = getNamedType(field.type);
      const selection = isScalarType(named) || isEnumType(named) ? "" : " { __typename }";
      out.push({ kind, field, document: `${kind} Fuzz(${definitions}) { ${field.name}(${args})${selection} }` });
    }
  }
  return out;
}

const TABLES = ["User", "Organization", "Role", "Group", "Membership", "Invitation"];
async function rowCounts(): Promise<Record<string, number>> {
  const rows = await app.db.prisma.$queryRawUnsafe<Array<{ table: string; count: number }>>(
    TABLES.map((t) => `SELECT '${t}' AS "table", count(*)::int AS count FROM "${t}"`).join(" UNION ALL "),
  );
  return Object.fromEntries(rows.map((r) => [r.table, r.count]));
}

it(`${RUNS} arbitrary requests over every argument of every root field: no internal error, contract codes only, refused mutations write nothing`, async () => {
  const ops = operations();
  expect(ops.length).toBeGreaterThan(10);
  const byName = (op: Operation) =>
    fc.boolean().chain((loose) =>
      fc
        .record(Object.fromEntries(op.field.args.map((a) => [a.name, valueFor(a.type, a.name, loose)])), {
          requiredKeys: loose ? [] : op.field.args.filter((a) => isNonNullType(a.type)).map((a) => a.name),
        })
        .map((variables) => ({ op, variables })),
    );
  const cases = fc.oneof(...ops.map(byName));
  const seen = new Map<string, number>();
  // Row counts are compared on PGlite only: there the database is this file's own; on PostgreSQL other files write
  // to the same tables at the same time.
  const checkWrites = app.dbKind === "pglite";

  await fc.assert(
    fc.asyncProperty(cases, async ({ op, variables }) => {
      const before = checkWrites && op.kind === "mutation" ? await rowCounts() : undefined;
      const result = await app.gql(op.document, variables, owner.token);
      const codes = (result.errors ?? []).map((e) => String(e.extensions?.code));
      for (const code of codes.length ? codes : ["(no error)"]) seen.set(code, (seen.get(code) ?? 0) + 1);
      expect(codes, JSON.stringify({ document: op.document, errors: result.errors })).not.toContain("INTERNAL_SERVER_ERROR");
      for (const code of codes) expect(CODES.has(code), `unknown code ${code}`).toBe(true);
      if (before && result.errors?.length && !(result.data as Record<string, unknown> | null | undefined)?.[op.field.name]) {
        expect(await rowCounts(), op.document).toEqual(before);
      }
    }),
    { numRuns: RUNS, endOnFailure: true },
  );
  console.log(`fuzz: ${RUNS} cases over ${ops.length} root fields; outcomes: ${JSON.stringify(Object.fromEntries(seen))}`);
}, Math.max(120_000, RUNS * 300));

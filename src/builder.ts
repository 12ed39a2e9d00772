/**
 * The Pothos builder: plugins, scalars and global ID encoding. Types live in src/schema/<domain>.ts.
 */
import SchemaBuilder from "@pothos/core";
import PrismaPlugin from "@pothos/plugin-prisma";
import RelayPlugin from "@pothos/plugin-relay";
import { GraphQLError, Kind, type ValueNode } from "graphql";
import type { Context } from "./context.js";
import { currentDatabase } from "./db/client.js";
import { BadUserInputError } from "./errors.js";
import { UUID_RE } from "./ids.js";
import type PrismaTypes from "./generated/pothos-types.js";
import { getDatamodel } from "./generated/pothos-types.js";

export const builder = new SchemaBuilder<{
  Context: Context;
  PrismaTypes: PrismaTypes;
  Scalars: {
    ID: { Input: string; Output: string };
    DateTime: { Input: Date; Output: Date };
    JSON: { Input: unknown; Output: unknown };
  };
  Connection: { totalCount: number | (() => number | Promise<number>) };
  DefaultFieldNullability: false;
  DefaultEdgesNullability: false;
  DefaultNodeNullability: false;
}>({
  plugins: [PrismaPlugin, RelayPlugin],
  defaultFieldNullability: false,
  prisma: {
    // Looked up per request, so the server follows whichever database is open (tests re-open it per file).
    client: () => currentDatabase().prisma,
    dmmf: getDatamodel(),
    exposeDescriptions: false,
    filterConnectionTotalCount: true,
    onUnusedQuery: process.env.NODE_ENV === "production" ? null : "error",
  },
  relay: {
    clientMutationId: "omit",
    cursorType: "String",
    nodesQueryOptions: false,
    edgesFieldOptions: { nullable: false },
    nodeFieldOptions: { nullable: false },
    encodeGlobalID: encodeId,
    decodeGlobalID: (globalID: string) => decodeId(globalID),
  },
});

/** Relay global IDs: base64url("Type:uuid"). Opaque to clients. */
export function encodeId(typename: string, id: string | number | bigint): string {
  return Buffer.from(`${typename}:${id}`, "utf8").toString("base64url");
}


/** Decodes a global ID; a malformed one is BAD_USER_INPUT naming `field`. */
export function decodeId(globalID: string, field = "id"): { typename: string; id: string } {
  const decoded = /^[A-Za-z0-9_-]{1,200}={0,2}$/.test(globalID) ? Buffer.from(globalID, "base64url").toString("utf8") : "";
  const colon = decoded.indexOf(":");
  const typename = decoded.slice(0, colon);
  const id = decoded.slice(colon + 1);
  if (colon <= 0 || !/^[A-Z][A-Za-z]+$/.test(typename) || !UUID_RE.test(id)) {
    throw new BadUserInputError(field, `"${globalID.slice(0, 100)}" is not a valid ID.`);
  }
  return { typename, id };
}

/**
 * Decodes a global ID that must name a `typename`. A well-formed ID of another type is BAD_USER_INPUT too:
 * the client passed the wrong kind of object.
 */
export function decodeIdOf(typename: string, globalID: string, field: string): string {
  const decoded = decodeId(globalID, field);
  if (decoded.typename !== typename) {
    throw new BadUserInputError(field, `${field} must be the ID of a ${typename}, got one of a ${decoded.typename}.`);
  }
  return decoded.id;
}

builder.queryType({});
builder.mutationType({});

builder.scalarType("DateTime", {
  description: "An instant, as an ISO-8601 string in UTC (e.g. 2026-01-31T12:00:00.000Z).",
  serialize: (value) => {
    if (value instanceof Date) return value.toISOString();
    throw new GraphQLError("DateTime cannot represent a non-date value");
  },
  parseValue: (value) => parseDateTime(value),
  parseLiteral: (ast) => {
    if (ast.kind !== Kind.STRING) throw new GraphQLError("DateTime must be an ISO-8601 string");
    return parseDateTime(ast.value);
  },
});

const ISO_DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(\.\d{1,9})?)?(?:Z|[+-](\d{2}):(\d{2}))$/;

/**
 * RFC 3339 with a zone. Every field is checked against the calendar first: `new Date` alone rolls 2026-02-31 over to
 * March 3rd and 24:00 over to the next day, turning a client's typo into a different instant.
 */
function parseDateTime(value: unknown): Date {
  const match = typeof value === "string" ? ISO_DATE_TIME.exec(value) : null;
  if (!match) {
    throw new GraphQLError("DateTime must be an ISO-8601 string with a time zone, like 2026-01-31T12:00:00Z");
  }
  const [year, month, day, hour, minute, second = 0, , zoneHours = 0, zoneMinutes = 0] = match
    .slice(1)
    .map((part) => (part === undefined || part.startsWith(".") ? undefined : Number(part)));
  const daysInMonth = new Date(Date.UTC(year!, month!, 0)).getUTCDate();
  const valid =
    month! >= 1 && month! <= 12 && day! >= 1 && day! <= daysInMonth &&
    hour! <= 23 && minute! <= 59 && second <= 59 && zoneHours <= 23 && zoneMinutes <= 59;
  const date = new Date(value as string);
  if (!valid || Number.isNaN(date.getTime())) throw new GraphQLError(`"${String(value).slice(0, 40)}" is not a valid DateTime`);
  return date;
}

builder.scalarType("JSON", {
  description: "A JSON object.",
  serialize: (value) => value,
  parseValue: (value) => value,
  parseLiteral: (ast) => literalToJson(ast),
});

function literalToJson(ast: ValueNode): unknown {
  switch (ast.kind) {
    case Kind.STRING:
    case Kind.BOOLEAN:
      return ast.value;
    case Kind.INT:
    case Kind.FLOAT:
      return Number(ast.value);
    case Kind.NULL:
      return null;
    case Kind.LIST:
      return ast.values.map(literalToJson);
    case Kind.OBJECT:
      return Object.fromEntries(ast.fields.map((f) => [f.name.value, literalToJson(f.value)]));
    default:
      throw new GraphQLError("JSON literals cannot contain variables");
  }
}

// Every connection has totalCount: a number, or a function that counts on demand (only when the field is selected).
builder.globalConnectionField("totalCount", (t) =>
  t.int({
    nullable: false,
    resolve: (connection) => {
      const { totalCount } = connection;
      return typeof totalCount === "function" ? totalCount() : totalCount;
    },
  }),
);

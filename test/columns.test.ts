/**
 * src/schema/columns.ts narrows Pothos' include-mode queries to the columns a selection reads. Rows must keep every
 * column some selected field reads (exposed, declared, or named in a field's `select`), prune related rows by their
 * own selection, and keep every column when a selected field's reads are unknown.
 */
import { Kind, parse, type FieldNode, type FragmentDefinitionNode, type GraphQLObjectType, type OperationDefinitionNode } from "graphql";
import { expect, test } from "vitest";
import { selectedColumns } from "../src/schema/columns.js";
import { schema } from "../src/schema/index.js";

const invitationType = schema.getType("Invitation") as GraphQLObjectType;

/** The selection sets and fragments of `{ x { …selection } } …fragments`. */
function selectionOf(text: string) {
  const document = parse(text);
  const operation = document.definitions.find((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION)!;
  const field = operation.selectionSet.selections[0] as FieldNode;
  const fragments = Object.fromEntries(
    document.definitions.filter((d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION).map((d) => [d.name.value, d]),
  );
  return { sets: [field.selectionSet!], fragments };
}

const include = { include: { role: true, invitedBy: true, groups: { orderBy: { name: "asc" } } } };

test("a page's rows carry the columns the selection reads, and related rows theirs", () => {
  const { sets, fragments } = selectionOf(
    `{ x { id email status a: role { key } invitedBy { name } groups { name } ...F } } fragment F on Invitation { createdAt role { name } }`,
  );
  expect(selectedColumns("Invitation", invitationType, include, sets, fragments)).toEqual({
    select: {
      id: true,
      email: true,
      // Invitation.status declares what it reads: EXPIRED is derived from expiresAt.
      status: true,
      expiresAt: true,
      createdAt: true,
      role: { select: { id: true, key: true, name: true } },
      invitedBy: { select: { id: true, name: true } },
      groups: { orderBy: { name: "asc" }, select: { id: true, name: true } },
    },
  });
});

test("a field's select names columns and relations, which stay whole", () => {
  const { sets, fragments } = selectionOf(`{ x { invitee { name } } }`);
  expect(selectedColumns("Invitation", invitationType, { include: { invitee: true } }, sets, fragments)).toEqual({
    select: { id: true, email: true, invitee: true },
  });
});

test("a selected field whose reads are unknown keeps every column of its row", () => {
  const userType = schema.getType("User") as GraphQLObjectType;
  const original = userType.getFields().email!.extensions;
  // User.email declares its reads; without the declaration the compiler cannot know them.
  (userType.getFields().email as { extensions: object }).extensions = {};
  try {
    const { sets, fragments } = selectionOf(`{ x { invitedBy { email } } }`);
    const query = selectedColumns("Invitation", invitationType, { include: { invitedBy: true } }, sets, fragments) as {
      select: { invitedBy: { select: Record<string, true> } };
    };
    expect(Object.keys(query.select)).toEqual(["id", "invitedBy"]);
    expect(Object.keys(query.select.invitedBy.select).sort()).toEqual(
      ["avatarUrl", "createdAt", "email", "emailVerified", "id", "name", "sub", "updatedAt"],
    );
  } finally {
    (userType.getFields().email as { extensions: object }).extensions = original;
  }
});

test("a query already in select mode, or of an unknown model, is left as it is", () => {
  const { sets, fragments } = selectionOf(`{ x { id } }`);
  const query = { select: { id: true, email: true } };
  expect(selectedColumns("Invitation", invitationType, query, sets, fragments)).toBe(query);
  expect(selectedColumns("Nope", invitationType, include, sets, fragments)).toBe(include);
});

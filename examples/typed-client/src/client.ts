/**
 * A typed GraphQL client in a few lines of fetch: the generated documents carry their result and variable types, so
 * `execute(CreateInvitation, { input })` is checked by the compiler against schema.graphql.
 *
 * `persisted: true` sends only the document's id (`documentId: "sha256:…"`, the GraphQL-over-HTTP persisted
 * documents form) instead of its text: the server must know the document from the manifest
 * (PERSISTED_OPERATIONS=allow or only, PERSISTED_OPERATIONS_FILE=examples/typed-client/src/gql/persisted-documents.json).
 */
import type { TypedDocumentString } from "./gql/graphql.js";

export interface ClientOptions {
  /** The GraphQL endpoint, e.g. http://localhost:4000/graphql. */
  url: string;
  /** A JWT for `Authorization: Bearer`; none for anonymous requests. */
  token?: string;
  /** Send the persisted document id instead of the document text. */
  persisted?: boolean;
  fetch?: typeof fetch;
}

export interface GraphQLErrorEntry {
  message: string;
  path?: (string | number)[];
  extensions?: { code?: string; reason?: string; field?: string; [key: string]: unknown };
}

/** A response with errors: `code` and `reason` are the first error's, for a switch in the caller. */
export class GraphQLRequestError extends Error {
  readonly code: string | undefined;
  readonly reason: string | undefined;
  constructor(
    readonly errors: GraphQLErrorEntry[],
    readonly status: number,
  ) {
    super(errors.map((e) => e.message).join("; ") || `HTTP ${status}`);
    this.name = "GraphQLRequestError";
    this.code = errors[0]?.extensions?.code;
    this.reason = errors[0]?.extensions?.reason;
  }
}

/** Operations without variables take none; the others require theirs. */
type VariablesArgument<V> = [V] extends [Record<string, never>] ? [variables?: V] : [variables: V];

export type Execute = <R, V>(document: TypedDocumentString<R, V>, ...variables: VariablesArgument<V>) => Promise<R>;

export function createClient(options: ClientOptions): Execute {
  const send = options.fetch ?? fetch;
  return async function execute<R, V>(document: TypedDocumentString<R, V>, ...[variables]: VariablesArgument<V>): Promise<R> {
    const hash: unknown = document.__meta__?.hash;
    if (options.persisted && typeof hash !== "string") throw new Error("This document has no persisted id: re-run `npm run codegen`.");
    const body = options.persisted ? { documentId: hash, variables } : { query: document.toString(), variables };
    const response = await send(options.url, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        accept: "application/graphql-response+json, application/json;q=0.9",
        ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
      },
      body: JSON.stringify(body),
    });
    const result = (await response.json()) as { data?: unknown; errors?: GraphQLErrorEntry[] };
    if (result.errors?.length) throw new GraphQLRequestError(result.errors, response.status);
    if (!response.ok || result.data == null) throw new GraphQLRequestError([], response.status);
    return result.data as R;
  };
}

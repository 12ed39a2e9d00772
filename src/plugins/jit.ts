/**
 * Queries run by graphql-jit: a document's query, once it has been asked for again, is compiled into a JavaScript
 * function (per document and operation) that calls the same resolvers as the standard executor but skips its
 * per-field bookkeeping. graphql-tools' executor, which Yoga runs, builds for every field of every row a resolve-info
 * object with closures and an arguments Map; on an admin's page of 50 invitations that was a quarter of the server's
 * CPU (README, "Where the time goes"). Measured with `npm run bench:cpu` on PostgreSQL: B 1.07-1.12 -> 0.88 ms of
 * CPU per request, A 0.47 -> 0.37 ms.
 *
 * What stays with the standard executor:
 * - mutations and subscriptions (mutations run one field after the other, and each gets fresh loaders; a stream is
 *   not a compiled query);
 * - a document's first execution: compiling costs more than running once, so a stream of distinct documents (an
 *   attacker's, or a tool's one-off) never pays for compilation; only documents that come back do;
 * - an execution whose variables do not coerce (graphql-jit answers it without `data`, before any resolver runs), so
 *   that its errors are exactly the executor's (codes, messages);
 * - a document graphql-jit cannot compile.
 * GRAPHQL_JIT=false turns it off.
 *
 * The deadline (src/plugins/deadline.ts) cannot hand graphql-jit an abort signal as it does the executor; it puts
 * the signal on the context instead, where the resolvers of object fields look before they start
 * (`resolversStopAtDeadline`).
 */
import { getOperationAST, GraphQLError, type DocumentNode, type ExecutionResult, type Source } from "graphql";
import { compileQuery, isCompiledQuery, type CompiledQuery } from "graphql-jit";
import type { Plugin } from "graphql-yoga";
import { LRUCache } from "lru-cache";

interface Entry {
  uses: number;
  /** undefined: not compiled yet; null: graphql-jit could not compile it. */
  compiled?: CompiledQuery | null;
}

/** Documents compiled so far (for tests). */
export const jitStats = { compiled: 0 };

interface JitError extends Error {
  locations?: readonly { line: number; column: number }[];
  path?: readonly (string | number)[];
  originalError?: Error;
  extensions?: Record<string, unknown>;
}

/**
 * graphql-jit's errors are objects of its own (with GraphQLError's prototype), and carry line and column rather than
 * the field's nodes: rebuilt as GraphQLErrors located at the same places in the document (the error handling in
 * src/errors.ts keeps those), so that a client sees the same error whichever executor ran its query.
 */
function withGraphQLErrors(result: ExecutionResult, source: Source | undefined): ExecutionResult {
  if (!result.errors?.length) return result;
  const errors = result.errors.map((raw) => {
    // graphql-jit's error inherits GraphQLError's prototype without being built by it: no nodes, source, positions.
    if (raw instanceof GraphQLError && raw.positions !== undefined) return raw;
    const error = raw as JitError;
    const positions = source && error.locations?.length ? error.locations.map((l) => positionOf(source, l.line, l.column)) : undefined;
    return new GraphQLError(error.message, {
      source: positions ? source : undefined,
      positions,
      path: error.path,
      originalError: error.originalError,
      extensions: error.extensions,
    });
  });
  return { ...result, errors };
}

/** The offset in `source` of a 1-based line and column. */
function positionOf(source: Source, line: number, column: number): number {
  let offset = 0;
  for (let current = 1; current < line; current += 1) {
    const next = source.body.indexOf("\n", offset);
    if (next < 0) break;
    offset = next + 1;
  }
  return offset + column - 1;
}

/** Documents remembered (their uses, and their compiled queries): a compiled query's code is tens of KB. */
export const JIT_DOCUMENTS = 200;

export function jitQueries(): Plugin {
  // By parsed document: Yoga's parser cache hands out the same object for the same text. Bounded, so that a stream
  // of distinct documents, each asked twice, cannot hold more than JIT_DOCUMENTS compiled queries in memory.
  const entries = new LRUCache<DocumentNode, Map<string, Entry>>({ max: JIT_DOCUMENTS });
  return {
    onExecute({ args, executeFn, setExecuteFn }) {
      const operation = getOperationAST(args.document, args.operationName);
      if (operation?.operation !== "query") return;
      let byOperation = entries.get(args.document);
      if (!byOperation) entries.set(args.document, (byOperation = new Map()));
      const name = args.operationName ?? "";
      let entry = byOperation.get(name);
      if (!entry) byOperation.set(name, (entry = { uses: 0 }));
      entry.uses += 1;
      if (entry.uses < 2) return;
      if (entry.compiled === undefined) {
        const result = compileQuery(args.schema, args.document, args.operationName ?? undefined);
        entry.compiled = isCompiledQuery(result) ? result : null;
        if (entry.compiled) jitStats.compiled += 1;
      }
      const compiled = entry.compiled;
      if (!compiled) return;
      const source = args.document.loc?.source;
      setExecuteFn((executeArgs) => {
        const variables = (executeArgs.variableValues ?? {}) as Record<string, unknown>;
        const answer = (result: ExecutionResult) =>
          // No `data` at all: the variables did not coerce, and no resolver ran. The executor answers instead, so
          // that those errors are exactly its own (codes, messages).
          "data" in result ? withGraphQLErrors(result, source) : executeFn(executeArgs);
        const result = compiled.query(executeArgs.rootValue, executeArgs.contextValue, variables) as ExecutionResult | Promise<ExecutionResult>;
        return result instanceof Promise ? result.then(answer) : answer(result);
      });
    },
  };
}

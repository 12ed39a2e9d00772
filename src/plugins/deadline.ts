/**
 * The execution deadline: a query or mutation that runs longer than `timeoutMs` is answered SERVICE_UNAVAILABLE
 * (HTTP 503, `retryAfterMs`), and its execution is aborted so that no further resolver starts.
 *
 * What it cannot do is stop a statement already sent: on PostgreSQL that one runs on until it ends or meets the
 * statement timeout, then its connection goes back to the pool as usual; a mutation's transaction either commits or
 * rolls back as a whole, so a 503 never leaves a half-written row (but it does not say whether the write happened).
 * On PGlite a statement runs on the event loop itself, so the deadline can only fire between statements; there the
 * limits applied before execution are what keeps a request short.
 */
import { defaultFieldResolver, getNamedType, isCompositeType, isObjectType, getOperationAST, type ExecutionResult, type GraphQLFieldResolver, type GraphQLSchema } from "graphql";
import type { Plugin } from "graphql-yoga";
import { ServiceUnavailableError } from "../errors.js";

/** Where the deadline leaves its signal for resolvers that no executor stops (graphql-jit's, src/plugins/jit.ts). */
export interface WithExecutionSignal {
  executionSignal?: AbortSignal;
}

/**
 * Makes every field returning an object (or a list of them) throw, instead of starting, once the request's deadline
 * has passed (the signal on the context). graphql-tools' executor stops by itself; a compiled query
 * (src/plugins/jit.ts) does not, and without this a deep query past its deadline would go on reading row after row
 * after it was answered SERVICE_UNAVAILABLE. Leaf fields are left alone: they read what their parent already holds.
 */
export function resolversStopAtDeadline(schema: GraphQLSchema): GraphQLSchema {
  for (const type of Object.values(schema.getTypeMap())) {
    if (!isObjectType(type) || type.name.startsWith("__")) continue;
    for (const field of Object.values(type.getFields())) {
      if (!isCompositeType(getNamedType(field.type))) continue;
      const resolve: GraphQLFieldResolver<unknown, WithExecutionSignal> = field.resolve ?? defaultFieldResolver;
      field.resolve = (parent, args, ctx: WithExecutionSignal, info) => {
        ctx?.executionSignal?.throwIfAborted();
        return resolve(parent, args, ctx, info);
      };
    }
  }
  return schema;
}

export function useExecutionDeadline(timeoutMs: number): Plugin {
  return {
    onExecute({ args, executeFn, setExecuteFn }) {
      // A subscription is a stream meant to stay open; it never reaches onExecute in Yoga (it goes through
      // onSubscribe), and if an executor ever routed one here it must still be left alone.
      if (getOperationAST(args.document, args.operationName)?.operation === "subscription") return;
      setExecuteFn(async (executeArgs) => {
        const controller = new AbortController();
        const outer = (executeArgs as { signal?: AbortSignal }).signal;
        // The client going away (Yoga's signal) aborts execution too. A listener rather than AbortSignal.any, which
        // cost about 20 µs per request and keeps its signals alive until both are collected.
        const forward = () => controller.abort(outer?.reason);
        if (outer?.aborted) forward();
        else outer?.addEventListener("abort", forward, { once: true });
        const signal = controller.signal;
        // For resolvers run by a compiled query (resolversStopAtDeadline).
        const context = executeArgs.contextValue as WithExecutionSignal | undefined;
        if (context && typeof context === "object") context.executionSignal = signal;
        let timer: NodeJS.Timeout | undefined;
        const expired = new Promise<ExecutionResult>((resolve) => {
          timer = setTimeout(() => {
            const error = new ServiceUnavailableError(`The request did not finish within ${timeoutMs} ms; retry shortly.`);
            // The executor stops starting resolvers once its signal is aborted (graphql-tools' executor, which Yoga uses).
            controller.abort(error);
            resolve({ errors: [error] });
          }, timeoutMs);
        });
        try {
          return await Promise.race([executeFn({ ...executeArgs, signal } as typeof executeArgs) as Promise<ExecutionResult>, expired]);
        } finally {
          clearTimeout(timer);
          outer?.removeEventListener("abort", forward);
        }
      });
    },
  };
}

/**
 * One log line per HTTP request, and the request id.
 *
 * The id comes from the client's `x-request-id` when it is a short run of safe characters (a proxy or a client
 * correlating its own logs), otherwise it is generated; either way it is echoed in the response's `x-request-id` and
 * is in the context (`ctx.requestId`) for any other line logged about the request. The line says what an operator
 * asks first: which operation, how long, which status, which error codes, for whom. A masked INTERNAL_SERVER_ERROR's
 * `reference` (what the client quotes) is listed in `references`, and the line logged with the error's details
 * carries the same reference.
 *
 * Never logged: the URL's query string (a GET request carries its variables there), headers, variables, the
 * document. Probes (/health, /ready) log at debug, so that a load balancer's polling does not fill the logs.
 */
import { randomUUID } from "node:crypto";
import { getOperationAST, type DocumentNode, type GraphQLError } from "graphql";
import type { Plugin } from "graphql-yoga";
import type { Logger } from "../logger.js";

/** What the log line needs to know about a request, filled in as the request goes. */
export interface RequestInfo {
  requestId: string;
  startedAt: number;
  operationName?: string;
  operationType?: string;
  viewerId?: string;
  errorCodes: string[];
  references: string[];
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const OPERATION_NAME = /^[_A-Za-z][_0-9A-Za-z]*$/;
const PROBES = new Set(["/health", "/ready"]);

const infos = new WeakMap<Request, RequestInfo>();

/** The request id a client sent, when it is usable as one; otherwise a new one. */
export function requestIdFrom(header: string | null): string {
  const candidate = header?.trim();
  return candidate && REQUEST_ID.test(candidate) ? candidate : randomUUID();
}

/** The request's log record (created on first use, so that code outside the plugin can rely on it). */
export function requestInfo(request: Request): RequestInfo {
  let info = infos.get(request);
  if (!info) {
    info = { requestId: requestIdFrom(request.headers.get("x-request-id")), startedAt: performance.now(), errorCodes: [], references: [] };
    infos.set(request, info);
  }
  return info;
}

/** A name fit for a log field or a metric label: a GraphQL name, at most 100 characters; otherwise undefined. */
export function operationNameOf(document: DocumentNode | undefined, operationName: string | null | undefined): { name?: string; type?: string } {
  const operation = document ? getOperationAST(document, operationName) : undefined;
  const name = operation?.name?.value ?? operationName ?? undefined;
  return { name: name && OPERATION_NAME.test(name) ? name.slice(0, 100) : undefined, type: operation?.operation };
}

export function requestLog(logger: Logger): Plugin {
  return {
    onRequest({ request }) {
      requestInfo(request);
    },
    onParams({ request, params }) {
      const info = requestInfo(request);
      info.operationName ??= operationNameOf(undefined, params.operationName).name;
    },
    // Named once the document parses, so that requests refused after parsing (invalid, rate limited, unauthenticated)
    // are named too.
    onParse({ context }) {
      const { request, params } = context as { request?: Request; params?: { operationName?: string | null } };
      if (!request) return;
      return ({ result }) => {
        if (!result || result instanceof Error || (result as { kind?: string }).kind !== "Document") return;
        const { name, type } = operationNameOf(result as DocumentNode, params?.operationName);
        const info = requestInfo(request);
        info.operationName = name;
        info.operationType = type;
      };
    },
    onResultProcess({ request, result }) {
      const info = requestInfo(request);
      // A subscription's stream is logged as one request; its events are not inspected here.
      if (Symbol.asyncIterator in Object(result)) return;
      const results = Array.isArray(result) ? result : [result];
      for (const one of results as Array<{ errors?: readonly GraphQLError[] }>) {
        for (const error of one.errors ?? []) {
          const code = error.extensions?.code;
          if (typeof code === "string" && !info.errorCodes.includes(code)) info.errorCodes.push(code);
          const reference = error.extensions?.reference;
          if (typeof reference === "string") info.references.push(reference);
        }
      }
    },
    onResponse({ request, response }) {
      const info = requestInfo(request);
      response.headers.set("x-request-id", info.requestId);
      const path = new URL(request.url).pathname;
      const fields: Record<string, unknown> = {
        requestId: info.requestId,
        method: request.method,
        path,
        operationName: info.operationName ?? null,
        operationType: info.operationType ?? null,
        status: response.status,
        durationMs: Math.round((performance.now() - info.startedAt) * 100) / 100,
        viewerId: info.viewerId ?? null,
        errorCodes: info.errorCodes,
      };
      if (info.references.length > 0) fields.references = info.references;
      if (PROBES.has(path)) logger.debug("request", fields);
      else logger.info("request", fields);
    },
  };
}

/**
 * Draining on shutdown: the requests already taken are counted until their responses are done; once draining starts,
 * a request that still arrives on an open keep-alive connection is answered SERVICE_UNAVAILABLE (503, Retry-After,
 * `Connection: close`) instead of starting work that the closing database would cut short. Probes pass through, so
 * /ready says "stopping" and /health still answers.
 */
import type { IncomingMessage, RequestListener, ServerResponse } from "node:http";

const RETRY_AFTER_MS = 1_000;
const PROBES = new Set(["/health", "/ready"]);

export interface Drain {
  /** Wraps the HTTP handler (Yoga) with the counting and the refusal. */
  handler(next: RequestListener): RequestListener;
  /** Starts refusing new requests; resolves true once none is in flight, false if `timeoutMs` passes first. */
  drain(timeoutMs: number): Promise<boolean>;
  /** Requests taken and not yet answered. */
  inFlight(): number;
}

export function createDrain(): Drain {
  const inFlight = new Set<ServerResponse>();
  let draining = false;
  let idle: (() => void) | undefined;

  return {
    handler(next) {
      return (request: IncomingMessage, response: ServerResponse) => {
        if (draining && !PROBES.has(new URL(request.url ?? "/", "http://localhost").pathname)) {
          refuse(response);
          return;
        }
        inFlight.add(response);
        if (draining) response.setHeader("connection", "close");
        response.once("close", () => {
          inFlight.delete(response);
          if (inFlight.size === 0) idle?.();
        });
        next(request, response);
      };
    },
    drain(timeoutMs) {
      draining = true;
      // The answers still to come close their connection, so the client sends its next request elsewhere instead of
      // racing the final close of an idle keep-alive connection.
      for (const response of inFlight) if (!response.headersSent) response.setHeader("connection", "close");
      if (inFlight.size === 0) return Promise.resolve(true);
      return new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(false), timeoutMs);
        idle = () => {
          clearTimeout(timer);
          resolve(true);
        };
      });
    },
    inFlight: () => inFlight.size,
  };
}

function refuse(response: ServerResponse): void {
  const body = JSON.stringify({
    errors: [
      {
        message: "The server is shutting down; retry on another instance.",
        extensions: { code: "SERVICE_UNAVAILABLE", retryAfterMs: RETRY_AFTER_MS },
      },
    ],
  });
  response.writeHead(503, {
    "content-type": "application/json; charset=utf-8",
    "content-length": Buffer.byteLength(body),
    "retry-after": String(Math.ceil(RETRY_AFTER_MS / 1000)),
    connection: "close",
  });
  response.end(body);
}

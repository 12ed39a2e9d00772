/**
 * MAX_BODY_BYTES: a body over the limit is refused with 413 before its JSON is parsed, from Content-Length before
 * anything is read, and while a body without one (chunked) streams in. After such a refusal the connection is
 * closed: the rest of the body is still on its way, and a keep-alive connection would read it as the start of the
 * client's next request.
 *
 * This is Yoga's own `maxRequestBodySize` (turned off in server.ts), with one difference: Yoga pipes every body
 * through a counting stream and rebuilds the request around it, Content-Length or not, and that cost about as much
 * CPU as the rest of a small request's HTTP handling (node's stream pipeline creates an AbortController and a
 * DOMException for each). A body that node's own HTTP parser frames by a Content-Length within the limit cannot grow
 * past it (the parser reads exactly that many bytes; anything after belongs to the next request), so only that case
 * skips the count; a chunked body, and any request that does not come straight from node:http (server.fetch in tests,
 * another adapter), is still counted as it arrives.
 */
import { IncomingMessage } from "node:http";
import { GraphQLError } from "graphql";
import type { Plugin } from "graphql-yoga";

/** Yoga's errors, unchanged: 413 and 400 with Yoga's codes (the error masking maps them to the contract's). */
const tooLarge = () => new GraphQLError("Request body too large", { extensions: { http: { status: 413 }, code: "REQUEST_ENTITY_TOO_LARGE" } });
const badLength = () => new GraphQLError("Content-Length header is invalid.", { extensions: { http: { status: 400 }, code: "BAD_REQUEST" } });

/** Only a single non-negative integer is a valid Content-Length (several joined by commas: request smuggling). */
const CONTENT_LENGTH = /^\d+$/;

/** Must come after every plugin that registers a request parser, so that it wraps the one finally chosen. */
export function bodyLimitPlugin(limit: number): Plugin {
  return {
    onRequestParse({ request, requestParser, setRequestParser, fetchAPI, serverContext }) {
      const contentLength = request.headers.get("content-length");
      if (contentLength != null) {
        if (!CONTENT_LENGTH.test(contentLength)) throw badLength();
        if (Number(contentLength) > limit) throw tooLarge();
      }
      if (requestParser == null || request.body == null) return;
      const framedByNode = contentLength != null && !request.headers.has("transfer-encoding") && (serverContext as { req?: unknown }).req instanceof IncomingMessage;
      if (framedByNode) return;
      setRequestParser((req) => requestParser(counted(req, limit, fetchAPI)));
    },
    onResponse({ response }) {
      if (response.status === 413) response.headers.set("connection", "close");
    },
  };
}

/** The request with its body counted as it streams: past `limit` bytes the read fails with the 413 error. */
function counted(request: Request, limit: number, fetchAPI: { Request: typeof Request; TransformStream: typeof TransformStream }): Request {
  const body = request.body!;
  // As in Yoga: a native ReadableStream needs the native TransformStream, the ponyfill's body the ponyfill's.
  const Transform = body instanceof ReadableStream ? globalThis.TransformStream : fetchAPI.TransformStream;
  let bytesRead = 0;
  const limited = body.pipeThrough(
    new Transform<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        bytesRead += chunk.byteLength;
        if (bytesRead > limit) {
          controller.error(tooLarge());
          return;
        }
        controller.enqueue(chunk);
      },
    }),
  );
  return new fetchAPI.Request(request.url, {
    method: request.method,
    headers: request.headers,
    signal: request.signal,
    body: limited,
    duplex: "half",
  } as RequestInit);
}

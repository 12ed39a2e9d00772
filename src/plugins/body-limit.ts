/**
 * MAX_BODY_BYTES itself is Yoga's `maxRequestBodySize` (server.ts): it refuses from Content-Length before reading,
 * and cuts a chunked body as it streams, both with 413 before the JSON is parsed. This plugin closes the connection
 * after such a refusal: the rest of the body is still on its way, and a keep-alive connection would read it as the
 * start of the client's next request.
 */
import type { Plugin } from "graphql-yoga";

export function bodyLimitPlugin(): Plugin {
  return {
    onResponse({ response }) {
      if (response.status === 413) response.headers.set("connection", "close");
    },
  };
}

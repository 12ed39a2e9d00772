/**
 * Trusted documents: the server runs documents from a manifest (hash -> document text) that GraphQL Code Generator's
 * client-preset writes (`persistedDocuments: true` -> persisted-documents.json), addressed by id instead of text.
 *
 * - `allow`: a request may send `documentId` (or Apollo's `extensions.persistedQuery.sha256Hash`) or a `query`.
 * - `only`: every document must come from the manifest; a `query` is refused with BAD_REQUEST /
 *   PERSISTED_QUERY_ONLY before parsing, so a public endpoint runs only what the application's own clients send.
 *
 * Ids are compared without their `sha256:` prefix, so the GraphQL-over-HTTP form (`documentId: "sha256:<hex>"`),
 * a bare hex hash, and Apollo's persisted-query extension all address the same document.
 */
import { readFile } from "node:fs/promises";
import { defaultExtractPersistedOperationId, usePersistedOperations } from "@graphql-yoga/plugin-persisted-operations";
import type { Plugin } from "graphql-yoga";
import { AppError } from "../errors.js";

/** Manifest id (without `sha256:`) -> document text. */
export type PersistedDocuments = ReadonlyMap<string, string>;

export type PersistedOperationsMode = "allow" | "only";

/** The request parameter of the GraphQL-over-HTTP persisted documents proposal; Yoga refuses unknown ones. */
export const DOCUMENT_ID_PARAM = "documentId";

const bareId = (id: string) => id.replace(/^sha256:/, "");

/** Reads and checks a manifest: a JSON object of non-empty ids to non-empty document texts. Throws a readable Error. */
export async function loadPersistedDocuments(file: string): Promise<PersistedDocuments> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(file, "utf8"));
  } catch (error) {
    const cause = (error as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (error as Error).message;
    throw new Error(`PERSISTED_OPERATIONS_FILE ${file}: ${cause}`);
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
    throw new Error(`PERSISTED_OPERATIONS_FILE ${file}: expected a JSON object of document ids to document texts`);
  }
  const documents = new Map<string, string>();
  for (const [id, text] of Object.entries(parsed)) {
    if (id.trim() === "" || typeof text !== "string" || text.trim() === "") {
      throw new Error(`PERSISTED_OPERATIONS_FILE ${file}: entry ${JSON.stringify(id)} must map an id to a document text`);
    }
    documents.set(bareId(id), text);
  }
  return documents;
}

const badRequest = (reason: string, message: string) => () => new AppError(message, "BAD_REQUEST", { reason });

export function persistedOperations(mode: PersistedOperationsMode, documents: PersistedDocuments): Plugin {
  return usePersistedOperations({
    allowArbitraryOperations: mode === "allow",
    extractPersistedOperationId: (params, request, context) => {
      const documentId = (params as { [DOCUMENT_ID_PARAM]?: unknown })[DOCUMENT_ID_PARAM];
      if (typeof documentId === "string") return bareId(documentId);
      const apq = defaultExtractPersistedOperationId(params, request, context);
      return apq === null ? null : bareId(apq);
    },
    getPersistedOperation: (id) => documents.get(id) ?? null,
    customErrors: {
      persistedQueryOnly: badRequest(
        "PERSISTED_QUERY_ONLY",
        "This server runs trusted documents only: send `documentId` (an id from its persisted-documents manifest) instead of `query`.",
      ),
      notFound: badRequest("PERSISTED_QUERY_NOT_FOUND", "No trusted document has this id: regenerate the client's documents and the server's manifest together."),
      keyNotFound: badRequest("PERSISTED_QUERY_ID_REQUIRED", "Send `documentId` (a trusted document's id) or `query`."),
    },
  }) as Plugin;
}

/**
 * GraphQL Code Generator's client-preset, from the server's schema.graphql and the documents in src/ (run from the
 * repository root: `npm run codegen`). Output, committed: src/gql/ (typed documents) and
 * src/gql/persisted-documents.json (the trusted-documents manifest the server loads with PERSISTED_OPERATIONS).
 */
import type { CodegenConfig } from "@graphql-codegen/cli";

const config: CodegenConfig = {
  schema: "schema.graphql",
  documents: ["examples/typed-client/src/**/*.ts", "!examples/typed-client/src/gql/**"],
  ignoreNoDocuments: false,
  // The generated files import each other with .js extensions, as Node's ESM resolution (NodeNext) requires.
  emitLegacyCommonJSImports: false,
  generates: {
    "examples/typed-client/src/gql/": {
      preset: "client",
      presetConfig: {
        // Each document carries the SHA-256 of its text (document.__meta__.hash), and the manifest maps hash to text.
        persistedDocuments: true,
        fragmentMasking: false,
      },
      config: {
        // Documents as strings (TypedDocumentString): a plain fetch client needs no GraphQL AST or printer.
        documentMode: "string",
        useTypeImports: true,
        enumsAsTypes: true,
        scalars: { DateTime: "string", JSON: "Record<string, unknown>" },
      },
    },
  },
};

export default config;

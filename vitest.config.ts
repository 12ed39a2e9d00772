import { createRequire } from "node:module";
import { defineConfig } from "vitest/config";

// Yoga, Pothos and shield load graphql as CommonJS; make test files use the same copy, or `instanceof GraphQLError`
// fails across the two and real errors get masked (see docs/platform.md).
const graphqlCjs = createRequire(import.meta.url).resolve("graphql");

/**
 * Every test file runs on embedded PGlite (test/build.test.ts and test/pglite-template.test.ts only there: they are about dist/ and PGlite files); with TEST_DATABASE_URL (an admin URL; a fresh database is created per run)
 * every file runs on PostgreSQL too, plus the PostgreSQL-only tests in test/postgres (races, several instances).
 */
export default defineConfig({
  resolve: { alias: [{ find: /^graphql$/, replacement: graphqlCjs }] },
  test: {
    globalSetup: ["test/helpers/global-setup.ts"],
    // Several files start real server processes (tsx compiling, a fresh PGlite folder) while the rest of the suite
    // runs beside them on the same two cores: a start can take a minute. Speed is the benchmark's business, not a test's.
    testTimeout: 180_000,
    hookTimeout: 180_000,
    projects: [
      { extends: true, test: { name: "pglite", include: ["test/**/*.test.ts"], exclude: ["test/postgres/**"], env: { TEST_DB: "pglite" } } },
      ...(process.env.TEST_DATABASE_URL
        ? [{ extends: true as const, test: { name: "postgres", include: ["test/**/*.test.ts"], exclude: ["test/build.test.ts", "test/pglite-template.test.ts"], env: { TEST_DB: "postgres" } } }]
        : []),
    ],
  },
});

// The Prisma CLI runs here with its WebAssembly engine only (see docs/platform.md): no engine download.
// The adapter is an in-memory PGlite; the CLI is used for `generate` and `migrate diff`, never against a real database.
import { PGlite } from "@electric-sql/pglite";
import { PrismaPGlite } from "pglite-prisma-adapter";
import { defineConfig } from "prisma/config";

process.env.DATABASE_URL ??= "postgres://localhost/prisma-cli";

export default defineConfig({
  schema: "prisma/schema.prisma",
  experimental: { adapter: true },
  engine: "js",
  // pglite-prisma-adapter is typed against an older @prisma/driver-adapter-utils.
  adapter: async () => new PrismaPGlite(new PGlite()) as never,
});

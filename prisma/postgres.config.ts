// Prisma CLI against a real PostgreSQL (DATABASE_URL), for read-only commands such as `npm run migrate:status`.
// Migrations are applied by the server itself (src/db/migrate.ts); see README.
import { PrismaPg } from "@prisma/adapter-pg";
import { defineConfig } from "prisma/config";

export default defineConfig({
  schema: "schema.prisma",
  experimental: { adapter: true },
  engine: "js",
  adapter: async () => {
    if (!process.env.DATABASE_URL) throw new Error("Set DATABASE_URL to the PostgreSQL database to inspect.");
    return new PrismaPg({ connectionString: process.env.DATABASE_URL }) as never;
  },
});

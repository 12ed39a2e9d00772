/**
 * A migrated, empty PGlite data directory prepared at build time (`npm run build`, run by `npm install`'s `prepare`
 * and by `npm start` when the build is stale): dist/pglite-template.tar, a dump made with PGlite's `dumpDataDir`,
 * and beside it dist/pglite-template.json, the migrations (names and checksums) it holds. A first start on a new
 * data folder loads that dump (PGlite's `loadDataDir`) instead of running initdb and every migration, which is most
 * of a first start's time. The template is used only when its migrations are exactly those on disk: a build older
 * than the migrations (or a missing template) falls back to initdb and migrating, as before.
 */
import { existsSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { MIGRATIONS_DIR, migrate, readMigrations, type Migration } from "./migrate.js";

/** The package's root: prisma/migrations is found from here whether this runs from src/db/ or from dist/main.js. */
const ROOT = dirname(dirname(MIGRATIONS_DIR));
export const TEMPLATE_FILE = join(ROOT, "dist", "pglite-template.tar");
const manifestOf = (file: string) => file.replace(/\.tar$/, ".json");

interface Manifest {
  migrations: { name: string; checksum: string }[];
}

const describe = (migrations: Migration[]): Manifest => ({ migrations: migrations.map(({ name, checksum }) => ({ name, checksum })) });

/** Writes the template: a fresh in-memory PGlite, every migration applied, statistics collected, dumped. */
export async function writeTemplate(file = TEMPLATE_FILE, migrations?: Migration[]): Promise<void> {
  const wanted = migrations ?? (await readMigrations());
  const pglite = await PGlite.create("memory://");
  try {
    await migrate(
      {
        query: async (sql, params) => (await pglite.query(sql, params)).rows as never[],
        exec: async (sql) => void (await pglite.exec(sql)),
        release: async () => {},
      },
      wanted,
    );
    await pglite.exec("ANALYZE");
    const dump = await pglite.dumpDataDir("none");
    await writeFile(file, Buffer.from(await dump.arrayBuffer()));
    await writeFile(manifestOf(file), `${JSON.stringify(describe(wanted), null, 2)}\n`);
  } finally {
    await pglite.close();
  }
}

/**
 * The template's dump when it exists and holds exactly the migrations on disk (same names, same checksums, same
 * order); otherwise undefined, and the caller creates the database the long way.
 */
export async function loadTemplate(file = TEMPLATE_FILE, migrations?: Migration[]): Promise<Blob | undefined> {
  if (!existsSync(file) || !existsSync(manifestOf(file))) return undefined;
  let manifest: Manifest;
  try {
    manifest = JSON.parse(await readFile(manifestOf(file), "utf8")) as Manifest;
  } catch {
    return undefined;
  }
  const wanted = JSON.stringify(describe(migrations ?? (await readMigrations())).migrations);
  if (JSON.stringify(manifest.migrations) !== wanted) return undefined;
  return new Blob([await readFile(file)]);
}

/** Whether `dataDir` already holds a PGlite database (PostgreSQL's PG_VERSION file is its first sign). */
export function holdsDatabase(dataDir: string): boolean {
  return existsSync(join(dataDir, "PG_VERSION"));
}

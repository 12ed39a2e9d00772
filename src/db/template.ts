/**
 * A migrated, empty PGlite data directory prepared at build time (`npm run build`, run by `npm install`'s `prepare`
 * and by `npm start` when the build is stale): dist/pglite-template.tar, a dump made with PGlite's `dumpDataDir`,
 * and beside it dist/pglite-template.json, the migrations (names and checksums) it holds. A first start on a new
 * data folder loads that dump (PGlite's `loadDataDir`) instead of running initdb and every migration, which is most
 * of a first start's time. The template is used only when its migrations are exactly those on disk: a build older
 * than the migrations (or a missing template) falls back to initdb and migrating, as before.
 */
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import { dirname, isAbsolute, join, normalize } from "node:path";
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
    // A data folder needs no template databases: the server only ever uses "postgres" and never runs CREATE
    // DATABASE. Without them the dump holds 460 files instead of 1,060, and creating files is most of what
    // unpacking costs (about 0.5 ms of system time each on the benchmark machine).
    await pglite.exec("UPDATE pg_database SET datistemplate = false WHERE datname IN ('template0', 'template1')");
    await pglite.exec("DROP DATABASE template0");
    await pglite.exec("DROP DATABASE template1");
    await pglite.exec("ANALYZE");
    await pglite.exec("CHECKPOINT");
    const dump = await pglite.dumpDataDir("none");
    await writeFile(file, Buffer.from(await dump.arrayBuffer()));
    await writeFile(manifestOf(file), `${JSON.stringify(describe(wanted), null, 2)}\n`);
  } finally {
    await pglite.close();
  }
}

/** Whether the template exists and holds exactly the migrations on disk (same names, same checksums, same order). */
export async function isCurrent(file: string, migrations?: Migration[]): Promise<boolean> {
  if (!existsSync(file) || !existsSync(manifestOf(file))) return false;
  let manifest: Manifest;
  try {
    manifest = JSON.parse(await readFile(manifestOf(file), "utf8")) as Manifest;
  } catch {
    return false;
  }
  const wanted = JSON.stringify(describe(migrations ?? (await readMigrations())).migrations);
  return JSON.stringify(manifest.migrations) === wanted;
}

/**
 * The template's dump, for PGlite's `loadDataDir` (an in-memory database), when it is current; otherwise undefined,
 * and the caller creates the database the long way.
 */
export async function loadTemplate(file = TEMPLATE_FILE, migrations?: Migration[]): Promise<Blob | undefined> {
  return (await isCurrent(file, migrations)) ? new Blob([await readFile(file)]) : undefined;
}

/**
 * Unpacks the template into `dataDir` (a folder without a database) when it is current, and says whether it did.
 * Written with Node's own file calls rather than PGlite's `loadDataDir`, which writes every file through the
 * WebAssembly file system (1.2 s of CPU against 0.2 s here). PG_VERSION, the file that marks a folder as holding a
 * database (`holdsDatabase`), is written last: a start cut short while unpacking leaves a folder that the next start
 * unpacks again, over the same files.
 */
export async function extractTemplate(dataDir: string, file = TEMPLATE_FILE, migrations?: Migration[]): Promise<boolean> {
  if (!(await isCurrent(file, migrations))) return false;
  const entries = readTar(await readFile(file));
  const last = entries.filter((entry) => entry.path === "PG_VERSION");
  for (const entry of [...entries.filter((entry) => entry.path !== "PG_VERSION"), ...last]) {
    const target = join(dataDir, entry.path);
    if (entry.directory) mkdirSync(target, { recursive: true, mode: entry.mode });
    else writeFileSync(target, entry.data, { mode: entry.mode });
  }
  return true;
}

interface TarEntry {
  /** Relative to the data folder (PGlite's dump names them from "/"). */
  path: string;
  directory: boolean;
  mode: number;
  data: Uint8Array;
}

/**
 * The entries of an uncompressed ustar archive, as PGlite's `dumpDataDir("none")` writes it: 512-byte headers,
 * directories and regular files only. Throws on anything else rather than unpack a data folder partly.
 */
export function readTar(tar: Buffer): TarEntry[] {
  const entries: TarEntry[] = [];
  const text = (header: Buffer, start: number, length: number) => {
    const field = header.subarray(start, start + length);
    const end = field.indexOf(0);
    return field.subarray(0, end < 0 ? length : end).toString("utf8");
  };
  for (let offset = 0; offset + 512 <= tar.length; ) {
    const header = tar.subarray(offset, offset + 512);
    if (header.every((byte) => byte === 0)) break; // the end-of-archive blocks
    const prefix = text(header, 345, 155);
    const name = `${prefix ? `${prefix}/` : ""}${text(header, 0, 100)}`;
    const size = Number.parseInt(text(header, 124, 12).trim() || "0", 8);
    const mode = Number.parseInt(text(header, 100, 8).trim() || "0", 8) & 0o777;
    const type = String.fromCharCode(header[156] || 0x30);
    const path = normalize(name.replace(/^\/+/, "")).replace(/\/+$/, "");
    if (Number.isNaN(size) || path.startsWith("..") || isAbsolute(path) || (type !== "0" && type !== "5")) {
      throw new Error(`The PGlite template holds an entry it should not: ${JSON.stringify(name)} (type ${type})`);
    }
    offset += 512;
    if (path !== "" && path !== ".") {
      entries.push({ path, directory: type === "5", mode, data: tar.subarray(offset, offset + size) });
    }
    offset += Math.ceil(size / 512) * 512;
  }
  return entries;
}

/** Whether `dataDir` already holds a PGlite database (PostgreSQL's PG_VERSION file is its first sign). */
export function holdsDatabase(dataDir: string): boolean {
  return existsSync(join(dataDir, "PG_VERSION"));
}

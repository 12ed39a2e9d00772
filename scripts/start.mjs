/**
 * `npm start`: runs the compiled server (dist/main.js), building it first when it is missing or older than any
 * source it is built from (a checkout without `npm install`'s `prepare`, or after editing src/ or prisma/).
 */
import module from "node:module";
import { readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

// Node 22.1 and later keep V8's compiled code of dist/main.js on disk (in the OS temp folder, or NODE_COMPILE_CACHE)
// and reuse it while the file is unchanged: a start then skips most of parsing and compiling the 5 MB bundle. Node 20
// has no such cache and starts as before.
module.enableCompileCache?.();

// As in scripts/build.mjs, which is imported only to build: it loads esbuild, 40 ms of a start that needs no build.
const root = fileURLToPath(new URL("..", import.meta.url));
const output = join(root, "dist", "main.js");

async function newest(path) {
  const info = await stat(path).catch(() => null);
  if (!info) return 0;
  if (!info.isDirectory()) return info.mtimeMs;
  const entries = await readdir(path);
  return Math.max(info.mtimeMs, ...(await Promise.all(entries.map((entry) => newest(join(path, entry))))));
}

const built = (await stat(output).catch(() => null))?.mtimeMs ?? 0;
const sources = Math.max(await newest(join(root, "src")), await newest(join(root, "package-lock.json")));
// A new migration makes the build's PGlite template stale (never used then: src/db/template.ts); prepared again here.
const templateBuilt = (await stat(join(root, "dist", "pglite-template.json")).catch(() => null))?.mtimeMs ?? 0;
const migrations = Math.max(await newest(join(root, "prisma")), await newest(join(root, "package-lock.json")));
if (sources > built || migrations > templateBuilt) {
  process.stderr.write("Building dist/main.js (sources changed)…\n");
  const { buildServer } = await import("./build.mjs");
  await buildServer({ template: migrations > templateBuilt });
}
await import(pathToFileURL(output).href);

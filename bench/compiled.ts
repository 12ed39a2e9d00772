/**
 * The benchmark's processes run as `npm start` runs the server: bundled by esbuild with the build's own settings
 * (scripts/build.mjs) and started with plain `node`, not through tsx. Under tsx every module is compiled at load and
 * its source and source map stay in memory: about 100 MB more RSS and other start-up and CPU figures than the
 * product's (an idle server on PostgreSQL held 247 MB under tsx, 141 MB from dist/main.js). The PGlite template a new
 * data folder starts from is made again when the migrations changed, as `npm start` does: a stale one is not used,
 * and the server would run initdb instead (a different start, which leaves about 430 MB of garbage behind).
 */
import { mkdirSync } from "node:fs";
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";
import { TEMPLATE_FILE, isCurrent, writeTemplate } from "../src/db/template.js";

const root = fileURLToPath(new URL("..", import.meta.url));

/** Bundles bench/<file>.ts into dist/bench/<file>.mjs (beside the build, so that its external packages resolve). */
export async function compiled(file: string): Promise<string> {
  // A path held in a variable: scripts/build.mjs is JavaScript without declarations, typed here by hand.
  const script = new URL("../scripts/build.mjs", import.meta.url).href;
  const { bundle } = (await import(script)) as { bundle(entryPoint: string, outfile: string): Promise<unknown> };
  if (!(await isCurrent(TEMPLATE_FILE))) await writeTemplate();
  mkdirSync(join(root, "dist", "bench"), { recursive: true });
  const outfile = join(root, "dist", "bench", basename(file).replace(/\.ts$/, ".mjs"));
  await bundle(join("bench", basename(file)), outfile);
  return outfile;
}

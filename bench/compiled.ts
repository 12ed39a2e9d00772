/**
 * The benchmark's processes run as `npm start` runs the server: bundled by esbuild with the build's own settings
 * (scripts/build.mjs) and started with plain `node`, not through tsx. Under tsx every module is compiled at load and
 * its source and source map stay in memory: about 100 MB more RSS and other start-up and CPU figures than the
 * product's (measured: an idle server on PostgreSQL at 247 MB under tsx, 141 MB from dist/main.js).
 */
import { mkdirSync } from "node:fs";
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));

/** Bundles bench/<file>.ts into dist/bench/<file>.mjs (beside the build, so its external packages resolve) and returns that path. */
export async function compiled(file: string): Promise<string> {
  // A path held in a variable: scripts/build.mjs is JavaScript without declarations, typed here by hand.
  const script = new URL("../scripts/build.mjs", import.meta.url).href;
  const { bundle } = (await import(script)) as { bundle(entryPoint: string, outfile: string): Promise<unknown> };
  mkdirSync(join(root, "dist", "bench"), { recursive: true });
  const outfile = join(root, "dist", "bench", basename(file).replace(/\.ts$/, ".mjs"));
  await bundle(join("bench", basename(file)), outfile);
  return outfile;
}

/**
 * `npm run build`: bundles the server (src/main.ts and what it imports, the generated Prisma client and the packages
 * included) into one file, dist/main.js, with esbuild. `npm start` runs that file, so a start pays no TypeScript
 * compilation (tsx compiled every module at every start) and loads one module instead of several hundred (resolving
 * and loading node_modules' files one by one was most of a start's CPU time). Left in node_modules: PGlite (it loads
 * its WebAssembly and data files from beside its own module) and the GraphiQL page (9 MB, imported on the first page
 * asked for). graphql-shield and graphql-middleware are bundled as CommonJS with the bundle's one `graphql` (see
 * bundleShield below). Whitespace and syntax minified, names kept for stack traces.
 * Type checking stays with `npm run typecheck`; `npm run dev` keeps tsx (watch mode).
 *
 * It also prepares dist/pglite-template.tar: a migrated, empty PGlite data directory that a first start on a new data
 * folder unpacks instead of running initdb and the migrations (see src/db/template.ts).
 */
import { build } from "esbuild";
import { readFile } from "node:fs/promises";
import { fileURLToPath, pathToFileURL } from "node:url";

export const root = fileURLToPath(new URL("..", import.meta.url));
export const output = fileURLToPath(new URL("../dist/main.js", import.meta.url));
const templateScript = fileURLToPath(new URL("../dist/pglite-template.js", import.meta.url));

const common = {
  absWorkingDir: root,
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  logLevel: "warning",
};

/** Packages that stay in node_modules (see above); every other one is bundled. */
const EXTERNAL = ["@electric-sql/pglite", "@graphql-yoga/render-graphiql"];

/**
 * src/permissions/shield.ts loads graphql-shield and graphql-middleware with a require() of its own (createRequire),
 * which esbuild cannot follow. In the bundle that line goes, so the same require() calls are esbuild's and bundle
 * the packages' CommonJS builds, with the one `graphql` that everything else in the bundle uses. Loading them from
 * node_modules instead cost a start about 140 files (graphql, yup, lodash) to find, read and compile one by one.
 */
const bundleShield = {
  name: "bundle-shield",
  setup(build) {
    build.onLoad({ filter: /[\\/]src[\\/]permissions[\\/]shield\.ts$/ }, async (args) => {
      const source = await readFile(args.path, "utf8");
      const line = /^const require = createRequire\(import\.meta\.url\);$/m;
      if (!line.test(source)) throw new Error(`${args.path}: the createRequire line that the build removes is gone; update scripts/build.mjs`);
      return { contents: source.replace(line, ""), loader: "ts" };
    });
  },
};

/**
 * graphql-jit (src/plugins/jit.ts) imports fast-json-stringify, and with it ajv and a handful of @fastify packages,
 * for its optional `customJSONSerializer`, which the server never turns on. In the bundle that import is a function
 * that throws if it is ever called: about 90 modules less to load at every start and to keep in memory.
 */
const withoutFastJsonStringify = {
  name: "without-fast-json-stringify",
  setup(build) {
    build.onResolve({ filter: /^fast-json-stringify$/ }, () => ({ path: "fast-json-stringify", namespace: "unused" }));
    build.onLoad({ filter: /.*/, namespace: "unused" }, () => ({
      contents: 'export default function fastJson() { throw new Error("fast-json-stringify is not bundled: graphql-jit\'s customJSONSerializer is off"); }',
      loader: "js",
    }));
  },
};

/**
 * Bundles `entryPoint` (a path from the package's root) into `outfile` the way dist/main.js is bundled. Also used by
 * the benchmark (bench/compiled.ts), so that the server it measures runs as `npm start` runs it.
 */
export function bundle(entryPoint, outfile) {
  return build({
    ...common,
    entryPoints: [entryPoint],
    outfile,
    sourcemap: true,
    external: EXTERNAL,
    plugins: [bundleShield, withoutFastJsonStringify],
    // ES builds first: graphql's CommonJS build re-exports every name through a getter, and with it every call the
    // executor made into graphql went through one (4% of the CPU of a list request, profiled).
    mainFields: ["module", "main"],
    minifyWhitespace: process.env.BUILD_READABLE !== "1",
    minifySyntax: true,
    // Bundled CommonJS packages call require(); an ES module has none of its own.
    banner: { js: 'import { createRequire as __createRequire } from "node:module"; const require = __createRequire(import.meta.url);' },
  });
}

/** `template: false` bundles only (scripts/start.mjs, when no migration changed: a stale template is never used anyway). */
export async function buildServer({ template = true } = {}) {
  await Promise.all([
    bundle("src/main.ts", output),
    build({ ...common, entryPoints: ["src/cli/pglite-template.ts"], outfile: templateScript, packages: "external" }),
  ]);
  if (!template) return;
  const { main } = await import(pathToFileURL(templateScript).href);
  await main();
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await buildServer();

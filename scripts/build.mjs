/**
 * `npm run build`: bundles the server (src/main.ts and what it imports, the generated Prisma client included) into
 * dist/main.js with esbuild, leaving packages in node_modules external. `npm start` runs that file, so a start pays
 * no TypeScript compilation (tsx compiled every module at every start). Type checking stays with `npm run typecheck`;
 * `npm run dev` keeps tsx (watch mode).
 */
import { build } from "esbuild";
import { fileURLToPath } from "node:url";

export const root = fileURLToPath(new URL("..", import.meta.url));
export const output = fileURLToPath(new URL("../dist/main.js", import.meta.url));

export async function buildServer() {
  await build({
    absWorkingDir: root,
    entryPoints: ["src/main.ts"],
    outfile: output,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    packages: "external",
    sourcemap: true,
    logLevel: "warning",
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await buildServer();

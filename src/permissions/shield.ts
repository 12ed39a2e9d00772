/**
 * graphql-shield, loadable on every supported Node.
 *
 * graphql-shield 7.6.5 (the last release; the package is unmaintained) uses `util.isUndefined`, which Node 23
 * removed: on Node 24 its ES module build fails to load ("does not provide an export named 'isUndefined'") and its
 * CommonJS build would throw when an `and`/`or` rule runs. So the missing function is given back (only where it is
 * missing) and the CommonJS build is loaded, which looks the function up when it is called. graphql-middleware's
 * `applyMiddleware` comes from its CommonJS build too: it recognises shield's middleware with `instanceof`, which
 * fails across an ES module and a CommonJS copy of the package. Import both from here, never directly. The build
 * (scripts/build.mjs) drops the createRequire line below, so that in dist/main.js these require() calls are
 * esbuild's and the CommonJS builds are bundled.
 */
import { createRequire } from "node:module";
import util from "node:util";

const patched = util as unknown as { isUndefined?: (value: unknown) => boolean };
patched.isUndefined ??= (value: unknown) => value === undefined;

const require = createRequire(import.meta.url);
const shieldModule = require("graphql-shield") as typeof import("graphql-shield");
const middlewareModule = require("graphql-middleware") as typeof import("graphql-middleware");

export const { applyMiddleware } = middlewareModule;

export const { allow, and, chain, deny, not, or, race, rule, shield } = shieldModule;
export type * from "graphql-shield";

/**
 * How much garbage V8 lets the server's heap hold before collecting it. Applied first thing by src/main.ts (so by
 * `npm start` and `node dist/main.js` alike) and by the benchmark's server (bench/server.ts), so that the benchmark
 * measures what production runs.
 *
 * V8 sizes the old generation after each full collection at up to 4 times what survived it when the process may use
 * a large heap (heap limit above 2 GB, Node's default on any machine with more than 4 GB of memory). The server's
 * live heap is small (about 35 MB under load: the schema, Prisma's client, the bundle's source), but requests that
 * wait on the database live through young-generation collections and are promoted, so under 32 concurrent requests
 * the old generation grew to 110-130 MB, nearly all of it garbage, before a full collection. A growing factor of 2
 * bounds that garbage to about the live size: peak RSS under `npm run bench:cpu` (A, B, C on PostgreSQL) went from
 * 240-310 MB to 205-225 MB. The cost is more full collections (4-5 instead of 1-2 in 10 s of load, mostly
 * concurrent marking; main-thread pauses of about 0.5 ms per request), which showed as up to about 10-15% more CPU
 * per request for B and C on the loaded 2-core benchmark machine. See docs/platform.md ("Memory").
 *
 * `--heap-growing-percent` is read by V8 at every full collection, so setting it at run time takes effect (Node 20,
 * 22 and 24). A value given on node's command line (`node --heap-growing-percent=… dist/main.js`) is left as it is;
 * 0 there restores V8's own choice.
 */
import v8 from "node:v8";

const HEAP_GROWING_PERCENT = 100;

export function tuneHeap(execArgv: readonly string[] = process.execArgv): void {
  if (execArgv.some((arg) => /^--heap[-_]growing[-_]percent\b/.test(arg))) return;
  v8.setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
}

/**
 * PostgreSQL settings of the embedded PGlite, given at every start (PGlite's start parameters, after its own).
 *
 * shared_buffers: PostgreSQL's default, 128 MB, is allocated inside PGlite's WebAssembly memory and written through
 * at start (the memory is resident from the first second, used or not): an idle PGlite held about 290 MB RSS with it
 * and 165 MB with 16 MB. What it costs: pages not in the buffers are read through PGlite's file system from the
 * operating system's cache, a system call per 8 kB page; the benchmark's data (11,000 invitations with their
 * indexes) showed no difference in CPU per request (see docs/platform.md). A larger database that is read all over
 * wants more.
 */
import { PGlite } from "@electric-sql/pglite";

const PGLITE_SHARED_BUFFERS = "16MB";

/** PGlite's own start parameters and ours after them (a later `-c` wins). */
export function pgliteStartParams(): string[] {
  return [...PGlite.defaultStartParams, "-c", `shared_buffers=${PGLITE_SHARED_BUFFERS}`];
}

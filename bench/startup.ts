/**
 * `npm run bench:startup`: how long `npm start` takes to be ready on embedded PGlite, on a fresh data folder and on
 * an existing one. Runs `node scripts/start.mjs` (what `npm start` runs, without npm's own start-up) with a new
 * PGlite folder, polls /ready every 20 ms, and reads the process's CPU time (user + system, from /proc) the moment
 * /ready answers 200; then stops it and starts it again on the same folder. Wall time depends on what else the
 * machine runs; the CPU time much less so. Repeated STARTUP_RUNS times (3); prints each run and the median.
 */
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import os from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const runs = Number(process.env.STARTUP_RUNS ?? 3);
const ticks = 100; // USER_HZ on Linux

async function freePort(): Promise<number> {
  const server = createServer().listen(0, "127.0.0.1");
  await new Promise((resolve) => server.once("listening", resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** utime + stime of a process and its reaped children, in ms. */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  const [utime, stime] = [Number(fields[11]), Number(fields[12])];
  return ((utime + stime) * 1000) / ticks;
}

async function startOnce(dataDir: string): Promise<{ wallMs: number; cpuMs: number }> {
  const port = await freePort();
  const started = performance.now();
  const child = spawn(process.execPath, ["scripts/start.mjs"], {
    cwd: root,
    env: { PATH: process.env.PATH!, HOME: process.env.HOME!, PGLITE_DATA_DIR: dataDir, PORT: String(port), HOST: "127.0.0.1", JWT_SECRET: "startup-bench-secret-0123456789-0123456789", LOG_LEVEL: "warn" },
    stdio: ["ignore", "ignore", "inherit"],
  });
  const exited = new Promise((resolve) => child.once("exit", resolve));
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`the server exited with ${child.exitCode} before /ready`);
      const ok = await fetch(`http://127.0.0.1:${port}/ready`).then((r) => r.status === 200, () => false);
      if (ok) return { wallMs: performance.now() - started, cpuMs: cpuMs(child.pid!) };
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  } finally {
    child.kill("SIGTERM");
    await exited;
  }
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const fresh: { wallMs: number; cpuMs: number }[] = [];
const existing: { wallMs: number; cpuMs: number }[] = [];
for (let i = 0; i < runs; i += 1) {
  const dir = await mkdtemp(join(os.tmpdir(), "startup-bench-"));
  try {
    fresh.push(await startOnce(join(dir, "pglite")));
    existing.push(await startOnce(join(dir, "pglite")));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  process.stderr.write(`run ${i + 1}: fresh ${fresh.at(-1)!.wallMs.toFixed(0)} ms (CPU ${fresh.at(-1)!.cpuMs} ms), existing ${existing.at(-1)!.wallMs.toFixed(0)} ms (CPU ${existing.at(-1)!.cpuMs} ms)\n`);
}
const row = (label: string, list: { wallMs: number; cpuMs: number }[]) =>
  `| ${label} | ${median(list.map((r) => r.wallMs)).toFixed(0)} | ${median(list.map((r) => r.cpuMs)).toFixed(0)} |`;
process.stdout.write(
  [
    `npm start to /ready on PGlite, median of ${runs}; Node ${process.version}; ${os.cpus().length} CPUs, load average ${os.loadavg().map((l) => l.toFixed(1)).join(" ")}`,
    "",
    "| data folder | wall ms | CPU ms (user + sys) |",
    "|---|---:|---:|",
    row("fresh", fresh),
    row("existing", existing),
    "",
  ].join("\n"),
);

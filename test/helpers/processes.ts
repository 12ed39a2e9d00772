/**
 * Real server processes for start-up tests: `node --import tsx src/main.ts` with a chosen environment and port,
 * and the `npm run token` CLI. Every wait is bounded, and `killAll()` (call it in afterAll) reaps what is left.
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { cp } from "node:fs/promises";
import { createServer } from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { inject } from "vitest";

export const ROOT = fileURLToPath(new URL("../..", import.meta.url));

/** Only what the process needs from the outside; nothing of the test runner's own configuration leaks in. */
function baseEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const key of ["PATH", "HOME", "TMPDIR", "LANG"]) {
    const value = process.env[key];
    if (value !== undefined) env[key] = value;
  }
  return env;
}

export interface ServerProcess {
  child: ChildProcess;
  port: number;
  url: string;
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit code (or the signal's name) once the process has ended. */
  exited: Promise<number | string>;
  /** Polls until `path` answers `status` (default /ready, 200). Fails early if the process exits. */
  waitFor(path?: string, status?: number, timeoutMs?: number): Promise<Response>;
  /** Resolves once stderr contains `text`; fails if the process exits first or after timeoutMs. */
  waitForLog(text: string, timeoutMs?: number): Promise<void>;
  /** Sends `signal` and resolves with the exit code. */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<number | string>;
}

const running = new Set<ChildProcess>();

/** A port that was free a moment ago. */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  server.close();
  await once(server, "close");
  return port;
}

/**
 * A throwaway PGlite data directory that is already initialised and migrated: a copy of the one global-setup made
 * (a copy takes milliseconds; initdb in a fresh process costs seconds of CPU). Removed with the run's temp folder.
 */
export async function migratedPgliteDir(): Promise<string> {
  const template = inject("pgliteDataDir");
  const copy = join(dirname(template), `copy-${randomBytes(6).toString("hex")}`);
  await cp(template, copy, { recursive: true });
  return copy;
}

/**
 * `args`: what node runs; the TypeScript sources through tsx unless told otherwise (the compiled start: scripts/start.mjs).
 * `PGLITE_DATA_DIR: "memory://"` (a throwaway embedded database) runs on a copy of the run's migrated data directory
 * (`migratedPgliteDir`) instead of running initdb and every migration again in the new process; `freshDatabase: true`
 * keeps the real empty start, for tests whose point is what a start on an empty database does.
 */
export async function spawnServer(
  env: Record<string, string>,
  options: { port?: number; args?: string[]; freshDatabase?: boolean } = {},
): Promise<ServerProcess> {
  const port = options.port ?? (await freePort());
  const database = env.PGLITE_DATA_DIR === "memory://" && !env.DATABASE_URL && !options.freshDatabase ? { PGLITE_DATA_DIR: await migratedPgliteDir() } : {};
  const child = spawn(process.execPath, options.args ?? ["--import", "tsx", "src/main.ts"], {
    cwd: ROOT,
    env: { ...baseEnv(), HOST: "127.0.0.1", PORT: String(port), LOG_LEVEL: "info", ...env, ...database },
    stdio: ["ignore", "pipe", "pipe"],
  });
  running.add(child);
  let out = "";
  let err = "";
  child.stdout!.setEncoding("utf8").on("data", (chunk: string) => (out += chunk));
  child.stderr!.setEncoding("utf8").on("data", (chunk: string) => (err += chunk));
  const exited = new Promise<number | string>((resolve) => {
    child.once("exit", (code, signal) => {
      running.delete(child);
      resolve(code ?? signal ?? "unknown");
    });
  });
  let hasExited = false;
  void exited.then(() => (hasExited = true));
  const url = `http://127.0.0.1:${port}`;
  const describe = () => `server on port ${port}; stderr:\n${err}`;

  return {
    child,
    port,
    url,
    stdout: () => out,
    stderr: () => err,
    exited,
    async waitFor(path = "/ready", status = 200, timeoutMs = 150_000) {
      const deadline = Date.now() + timeoutMs;
      let last = "no answer";
      while (Date.now() < deadline) {
        if (hasExited) throw new Error(`exited (${await exited}) before ${path} answered ${status}; ${describe()}`);
        try {
          const response = await fetch(url + path, { signal: AbortSignal.timeout(5_000) });
          if (response.status === status) return response;
          last = `${response.status} ${await response.text()}`;
        } catch (error) {
          last = String(error);
        }
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(`${path} did not answer ${status} within ${timeoutMs} ms (last: ${last}); ${describe()}`);
    },
    async waitForLog(text, timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      while (!err.includes(text)) {
        if (hasExited) throw new Error(`exited before logging ${JSON.stringify(text)}; ${describe()}`);
        if (Date.now() > deadline) throw new Error(`did not log ${JSON.stringify(text)} within ${timeoutMs} ms; ${describe()}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async stop(signal = "SIGTERM", timeoutMs = 30_000) {
      if (!hasExited) child.kill(signal);
      const timer = new Promise<never>((_, reject) => {
        const t = setTimeout(() => reject(new Error(`did not exit within ${timeoutMs} ms of ${signal}; ${describe()}`)), timeoutMs);
        void exited.then(() => clearTimeout(t));
      });
      return Promise.race([exited, timer]);
    },
  };
}

/** Runs a command to its end with a clean environment plus `env`; never rejects on a non-zero exit. */
export async function run(
  command: string,
  args: string[],
  env: Record<string, string>,
  timeoutMs = 60_000,
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(command, args, {
      cwd: ROOT,
      env: { ...baseEnv(), ...env },
      timeout: timeoutMs,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number | string; stdout?: string; stderr?: string; killed?: boolean };
    if (e.killed) throw new Error(`${args.join(" ")} did not finish within ${timeoutMs} ms`);
    return { code: typeof e.code === "number" ? e.code : -1, stdout: e.stdout ?? "", stderr: e.stderr ?? "" };
  }
}

/** `npm run token -- <email> [name]`, exactly as the README tells a user to get a token. */
export async function devToken(env: Record<string, string>, email: string, name?: string): Promise<string> {
  const { code, stdout, stderr } = await run("npm", ["run", "--silent", "token", "--", email, ...(name ? [name] : [])], env);
  if (code !== 0) throw new Error(`token CLI exited ${code}: ${stderr}`);
  return stdout.trim();
}

/** Kills every server process still running (SIGKILL), for afterAll. */
export async function killAll(): Promise<void> {
  await Promise.all(
    [...running].map(async (child) => {
      const gone = once(child, "exit");
      child.kill("SIGKILL");
      await gone;
    }),
  );
}

/** POSTs a GraphQL request to a running server. */
export async function gqlOver(
  url: string,
  query: string,
  variables?: Record<string, unknown>,
  token?: string,
): Promise<{ status: number; body: any }> {
  const headers: Record<string, string> = { "content-type": "application/json", accept: "application/graphql-response+json" };
  if (token) headers.authorization = `Bearer ${token}`;
  const response = await fetch(`${url}/graphql`, { method: "POST", headers, body: JSON.stringify({ query, variables }) });
  return { status: response.status, body: await response.json() };
}

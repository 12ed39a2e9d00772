/**
 * A throwaway PostgreSQL cluster of the test's own, for outage tests: initdb'd in a temporary folder, on a free port,
 * run as the `postgres` user (initdb refuses root). The test may stop it, start it again, freeze it (SIGSTOP to the
 * postmaster and every child: a host that accepts TCP connections in its kernel but never answers) and thaw it.
 * Never the shared cluster: everything here is addressed by this cluster's own data directory and postmaster.
 */
import { execFile } from "node:child_process";
import { chown, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { freePort } from "./processes.js";

const BIN = "/usr/lib/postgresql/15/bin";
const exec = promisify(execFile);

export interface Cluster {
  port: number;
  /** A URL to the cluster's `postgres` database (trust authentication, user `postgres`). */
  url: string;
  stop(): Promise<void>;
  start(): Promise<void>;
  freeze(): Promise<void>;
  thaw(): Promise<void>;
  /** Thaws, stops and removes the folder; safe to call in any state. */
  destroy(): Promise<void>;
}

async function asPostgres(command: string, args: string[], timeoutMs = 60_000): Promise<string> {
  const { stdout } = await exec("runuser", ["-u", "postgres", "--", command, ...args], { timeout: timeoutMs });
  return stdout;
}

async function userIds(name: string): Promise<{ uid: number; gid: number }> {
  const [uid, gid] = await Promise.all([exec("id", ["-u", name]), exec("id", ["-g", name])]);
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

export async function createCluster(): Promise<Cluster> {
  const folder = await mkdtemp(join(tmpdir(), "invitations-outage-"));
  const { uid, gid } = await userIds("postgres");
  await chown(folder, uid, gid);
  const dataDir = join(folder, "data");
  const log = join(folder, "postgres.log");
  const port = await freePort();
  await asPostgres(`${BIN}/initdb`, ["-D", dataDir, "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8"]);
  // Listen on loopback TCP only; the socket folder is ours, not the system's.
  await writeFile(
    join(dataDir, "postgresql.auto.conf"),
    [`port = ${port}`, `listen_addresses = '127.0.0.1'`, `unix_socket_directories = '${folder}'`, "fsync = off", ""].join("\n"),
  );
  await chown(join(dataDir, "postgresql.auto.conf"), uid, gid);

  let frozen: number[] = [];
  const pgCtl = (args: string[]) => asPostgres(`${BIN}/pg_ctl`, ["-D", dataDir, ...args]);

  /** The postmaster (first line of postmaster.pid) and its children. */
  async function processes(): Promise<number[]> {
    const postmaster = Number((await readFile(join(dataDir, "postmaster.pid"), "utf8")).split("\n")[0]);
    const { stdout } = await exec("pgrep", ["-P", String(postmaster)]).catch(() => ({ stdout: "" }));
    return [postmaster, ...stdout.split("\n").filter(Boolean).map(Number)];
  }

  const cluster: Cluster = {
    port,
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    async start() {
      await pgCtl(["start", "-w", "-t", "30", "-l", log]);
    },
    async stop() {
      await pgCtl(["stop", "-m", "immediate", "-w"]);
    },
    async freeze() {
      frozen = await processes();
      // The postmaster first, so that it forks no new child that would escape the freeze.
      for (const pid of frozen) process.kill(pid, "SIGSTOP");
    },
    async thaw() {
      for (const pid of frozen) {
        try {
          process.kill(pid, "SIGCONT");
        } catch {
          // Already gone.
        }
      }
      frozen = [];
    },
    async destroy() {
      await cluster.thaw();
      await pgCtl(["stop", "-m", "immediate", "-w"]).catch(() => {});
      await rm(folder, { recursive: true, force: true });
    },
  };
  await cluster.start();
  return cluster;
}

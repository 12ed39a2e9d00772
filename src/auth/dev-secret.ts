/**
 * The development signing secret: generated at random on first use and kept in a file (mode 0600) beside the
 * embedded database, so `npm run token` and the server agree and tokens survive a restart. No secret is ever
 * written in the source, where anyone could read it and sign in as anyone.
 */
import { randomBytes } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import type { Config } from "../config.js";

const MIN_LENGTH = 32;

/** Reads the secret kept in `file`, creating the file with a new random secret when it does not exist. */
export async function loadDevSecret(file: string): Promise<{ secret: string; created: boolean }> {
  const existing = await readSecret(file);
  if (existing) return { secret: existing, created: false };
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  const secret = randomBytes(32).toString("base64url");
  try {
    // "wx": two processes starting at once must not each write their own secret; the loser reads the winner's.
    await writeFile(file, `${secret}\n`, { flag: "wx", mode: 0o600 });
    return { secret, created: true };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    const written = await readSecret(file);
    if (!written) throw new Error(`${file} exists but holds no usable secret`);
    return { secret: written, created: false };
  }
}

async function readSecret(file: string): Promise<string | undefined> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
  const secret = text.trim();
  if (secret.length < MIN_LENGTH) {
    throw new Error(`${file} holds a secret shorter than ${MIN_LENGTH} characters; delete the file to generate a new one`);
  }
  return secret;
}

/** The configuration with the development secret filled in when it uses one; unchanged otherwise. */
export async function withDevSecret<T extends Pick<Config, "jwt">>(config: T): Promise<T & { devSecretCreated?: boolean }> {
  if (!config.jwt.usingDevSecret || !config.jwt.devSecretFile || config.jwt.secret) return config;
  const { secret, created } = await loadDevSecret(config.jwt.devSecretFile);
  return { ...config, jwt: { ...config.jwt, secret }, devSecretCreated: created };
}

/**
 * Prints a development token signed with the configured JWT_SECRET, or else with the development secret the server
 * keeps beside its data (created here if the server has not started yet).
 *   npm run token -- <email> [name] [--sub <sub>] [--unverified] [--expires <12h>]
 */
import { parseArgs } from "node:util";
import { ConfigError, loadConfig, type Config } from "../config.js";
import { withDevSecret } from "../auth/dev-secret.js";
import { signDevToken } from "../auth/token.js";
import { normalizeEmail } from "../validation.js";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    sub: { type: "string" },
    unverified: { type: "boolean", default: false },
    expires: { type: "string", default: "12h" },
  },
});

const [rawEmail, ...nameParts] = positionals;
const email = rawEmail ? normalizeEmail(rawEmail) : undefined;
if (!email) {
  process.stderr.write("usage: npm run token -- <email> [name] [--sub <sub>] [--unverified] [--expires 12h]\n");
  process.exit(64);
}
let config: Config;
try {
  config = loadConfig();
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  process.stderr.write(`${error.message}\n`);
  process.exit(78);
}
try {
  config = await withDevSecret(config);
} catch (error) {
  process.stderr.write(`Development secret: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(78);
}
if (!config.jwt.secret) {
  process.stderr.write("JWT_JWKS_URL is set: tokens come from your identity provider, not from this command.\n");
  process.exit(78);
}
const name = nameParts.join(" ") || undefined;
const token = await signDevToken(
  config.jwt.secret,
  { sub: values.sub ?? `dev|${email}`, email, name, email_verified: !values.unverified },
  { expiresIn: values.expires, issuer: config.jwt.issuer, audience: config.jwt.audience },
);
process.stdout.write(`${token}\n`);

/**
 * Structured logs: one JSON line per entry on stderr, through pino, filtered by LOG_LEVEL.
 *
 * The rest of the code sees only the small `Logger` interface (`logger.info(message, fields)`), so that the library
 * stays replaceable and call sites stay short. Two layers keep secrets out of the lines: pino's redaction removes
 * fields that carry them by name (authorization headers, tokens, secrets, passwords, cookies), and every finished
 * line is scrubbed of anything shaped like a JWT, an invitation token, a bearer credential or a password in a URL,
 * wherever it appears (an error message quoting a connection string, say).
 */
import { pino, stdSerializers, stdTimeFunctions } from "pino";

export type LogLevel = "debug" | "info" | "warn" | "error" | "silent";

export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

export const REDACTED = "[REDACTED]";

/** Field names whose values never reach a log line, at the top level and one level down (`headers.authorization`). */
const SECRET_FIELDS = ["authorization", "cookie", "set-cookie", "token", "jwt", "secret", "password", "apiKey", "api_key"];
const REDACT_PATHS = SECRET_FIELDS.flatMap((name) => {
  const key = /^[A-Za-z_$][\w$]*$/.test(name) ? name : `["${name}"]`;
  const nested = key.startsWith("[") ? `*${key}` : `*.${key}`;
  return [key, nested];
});

/** Patterns scrubbed from every finished line, whatever field or message they are in. */
const SECRET_PATTERNS: Array<[RegExp, string]> = [
  // A JWS/JWT: three base64url parts, the first one a JSON header (`{"` encodes as eyJ).
  [/eyJ[\w-]{5,}\.[\w-]{5,}\.[\w-]*/g, REDACTED],
  // Invitation tokens (src/invitations/token.ts): inv_ and base64url.
  [/\binv_[\w-]{16,}/g, REDACTED],
  [/\b(Bearer|Basic)\s+[\w\-.~+/=]+/gi, `$1 ${REDACTED}`],
  // user:password@ in a URL (postgres://, redis://, smtp://): the password goes, the host stays for diagnosis.
  [/(\b[a-z][a-z0-9+.-]*:\/\/[^:/?#@\s"]*):[^@/?#\s"]*@/gi, `$1:${REDACTED}@`],
];

/**
 * The one field whose invitation token survives: the development invitation link (src/events/email.ts, written only
 * in development without a mail server, so that the developer can follow it). Its key can only come from code: in a
 * logged value, quotes are escaped (`\"`), so user input cannot forge it.
 */
export const DEV_INVITATION_LINK_FIELD = "devInvitationLink";
const IN_DEV_LINK = new RegExp(`"${DEV_INVITATION_LINK_FIELD}":"[^"]*$`);
const INVITATION_TOKEN = /\binv_[\w-]{16,}/g;

/** Removes secrets from a finished log line (exported for tests). */
export function scrubSecrets(line: string): string {
  let scrubbed = line;
  for (const [pattern, replacement] of SECRET_PATTERNS) {
    if (pattern.source === INVITATION_TOKEN.source) {
      const before = scrubbed;
      scrubbed = scrubbed.replace(pattern, (match, offset: number) => (IN_DEV_LINK.test(before.slice(0, offset)) ? match : REDACTED));
    } else {
      scrubbed = scrubbed.replace(pattern, replacement);
    }
  }
  return scrubbed;
}

/**
 * A logger at `level`. `write` receives each line without its newline (tests collect lines with it); by default
 * lines go to stderr, synchronously, so that the last lines before an exit are not lost.
 */
export function createLogger(level: LogLevel, write?: (line: string) => void): Logger {
  const destination = write ? { write: (chunk: string) => write(chunk.replace(/\n$/, "")) } : pino.destination({ dest: 2, sync: true });
  const log = pino(
    {
      level,
      messageKey: "message",
      errorKey: "error",
      timestamp: stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      serializers: { error: stdSerializers.err, err: stdSerializers.err },
      redact: { paths: REDACT_PATHS, censor: REDACTED },
      hooks: { streamWrite: scrubSecrets },
    },
    destination,
  );
  const at = (method: "debug" | "info" | "warn" | "error") => (message: string, fields?: Record<string, unknown>) => {
    if (fields) log[method](fields, message);
    else log[method](message);
  };
  return { debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
}

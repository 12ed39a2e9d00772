/**
 * The outbox worker as the server runs it, from the configuration: the email sender for the configured mode, the
 * default invitation link (the server's own /invite page in development), and the webhook sender.
 */
import type { Config } from "../config.js";
import type { Logger } from "../logger.js";
import { createEmailSender, smtpTransport } from "./email.js";
import { createWebhookSender } from "../webhooks/sender.js";
import { WEBHOOK } from "./plan.js";
import { EMAIL } from "./record.js";
import { createWorker, type Sender, type Worker } from "./worker.js";

export function startOutboxWorker(
  config: Pick<Config, "email" | "outbox"> & Partial<Pick<Config, "webhooks">>,
  logger: Logger,
  port: number,
  options: { firstPassDelayMs?: number } = {},
): Worker {
  // Webhooks have no "off": an organization without endpoints simply has no webhook deliveries. Unconfigured, the
  // defaults of src/config.ts (https to public addresses, 10 s).
  const senders: Record<string, Sender> = { [WEBHOOK]: createWebhookSender(config.webhooks ?? { allowPrivate: false, timeoutMs: 10_000 }) };
  const { email } = config;
  if (email.mode !== "off") {
    const inviteUrlTemplate = email.inviteUrlTemplate ?? `http://localhost:${port}/invite?token={token}`;
    senders[EMAIL] =
      email.mode === "smtp"
        ? createEmailSender({ mode: "smtp", transport: smtpTransport(email.smtpUrl), from: email.from, inviteUrlTemplate, logger })
        : createEmailSender({ mode: "log", inviteUrlTemplate, logger });
  }
  const worker = createWorker({ senders, logger, ...config.outbox });
  worker.start({ delayMs: options.firstPassDelayMs });
  return worker;
}

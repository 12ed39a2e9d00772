/**
 * The webhook sender the outbox worker calls for "webhook" deliveries: one signed POST per attempt, per the Standard
 * Webhooks specification. `webhook-id` is the event's id, the same on every retry (receivers deduplicate on it);
 * `webhook-timestamp` is the attempt's time in seconds; `webhook-signature` is `v1,<base64 HMAC-SHA256 of
 * id.timestamp.body>` made by the `standardwebhooks` package with the endpoint's secret.
 *
 * A 2xx answer within the timeout is success; anything else (another status, a redirect, which is never followed,
 * no answer in time, a refused address) throws, and the worker retries with backoff. Only a short, sanitised excerpt
 * of a failing answer's body is kept, in `lastError`.
 */
import { request as httpRequest, type IncomingMessage } from "node:http";
import { request as httpsRequest } from "node:https";
import { Webhook } from "standardwebhooks";
import { now as clockNow } from "../clock.js";
import { prisma } from "../db/client.js";
import type { ClaimedDelivery } from "../events/outbox.js";
import { DeliveryError, type Sender } from "../events/worker.js";
import { publicOnlyLookup, urlProblem } from "./address.js";
import { webhookBody } from "./payload.js";

export interface WebhookSenderOptions {
  /** WEBHOOK_ALLOW_PRIVATE: http and non-public addresses allowed (tests, development). */
  allowPrivate: boolean;
  /** No 2xx answer within this: the attempt failed. */
  timeoutMs: number;
}

/** How much of a failing answer's body is read, and how much of it is kept. */
const BODY_READ_BYTES = 4096;
const EXCERPT_CHARS = 200;

const USER_AGENT = "invitations-webhooks/1";

/** Printable ASCII only, whitespace collapsed, cut short: safe to store and show in `lastError`. */
export function sanitizeExcerpt(text: string): string {
  return text
    .replace(/[^\x20-\x7e]+/g, " ")
    .replace(/\s+/g, " ")
    .trim()
    .slice(0, EXCERPT_CHARS);
}

interface Answer {
  status: number;
  excerpt: string;
}

/** One POST; resolves with the status and (for failures) a body excerpt, rejects on no answer. */
function post(url: URL, headers: Record<string, string>, body: string, options: WebhookSenderOptions): Promise<Answer> {
  const request = url.protocol === "https:" ? httpsRequest : httpRequest;
  const signal = AbortSignal.timeout(options.timeoutMs);
  return new Promise<Answer>((resolve, reject) => {
    const req = request(
      url,
      {
        method: "POST",
        headers: { ...headers, "content-length": String(Buffer.byteLength(body)) },
        signal,
        // Resolve, check every address, and connect to a checked one. With private addresses allowed: the default.
        ...(options.allowPrivate ? {} : { lookup: publicOnlyLookup }),
        agent: false,
      },
      (res: IncomingMessage) => {
        const status = res.statusCode ?? 0;
        if (status >= 200 && status < 300) {
          res.resume();
          resolve({ status, excerpt: "" });
          res.destroy();
          return;
        }
        const chunks: Buffer[] = [];
        let size = 0;
        const finish = () => resolve({ status, excerpt: sanitizeExcerpt(Buffer.concat(chunks).toString("utf8")) });
        res.on("data", (chunk: Buffer) => {
          if (size >= BODY_READ_BYTES) return;
          chunks.push(chunk.subarray(0, BODY_READ_BYTES - size));
          size += chunk.length;
          if (size >= BODY_READ_BYTES) {
            res.destroy();
            finish();
          }
        });
        res.on("end", finish);
        res.on("error", finish);
      },
    );
    req.on("error", (error: NodeJS.ErrnoException) => {
      if (signal.aborted) reject(new DeliveryError(`No answer within ${options.timeoutMs} ms.`));
      else if (error.code === "ENONPUBLIC") reject(new DeliveryError(`Refused: ${url.hostname} resolves to a non-public address.`));
      else reject(new DeliveryError(`Request failed: ${error.code ?? error.message}.`));
    });
    req.end(body);
  });
}

export function createWebhookSender(options: WebhookSenderOptions): Sender {
  return async (delivery: ClaimedDelivery) => {
    const row = await prisma.outboxDelivery.findUnique({
      where: { id: delivery.id },
      select: {
        endpoint: { select: { url: true, secret: true, deletedAt: true } },
        event: { select: { id: true, type: true, occurredAt: true, invitationId: true, data: true } },
      },
    });
    // Deleted meanwhile (deleteWebhookEndpoint drops pending deliveries; this is the race where it committed after
    // the claim): nothing to send.
    if (!row?.endpoint || row.endpoint.deletedAt) return "DISABLED";
    const url = new URL(row.endpoint.url);
    // Checked again at every delivery: the rules may have changed since the endpoint was created. A host name is
    // checked by publicOnlyLookup as the connection resolves it.
    const problem = urlProblem(url, options.allowPrivate);
    if (problem) throw new DeliveryError(`Refused: ${problem}`);

    const body = JSON.stringify(webhookBody(row.event));
    const at = clockNow();
    const id = row.event.id;
    const headers = {
      "content-type": "application/json",
      "user-agent": USER_AGENT,
      "webhook-id": id,
      "webhook-timestamp": String(Math.floor(at.getTime() / 1000)),
      "webhook-signature": new Webhook(row.endpoint.secret).sign(id, at, body),
    };
    const answer = await post(url, headers, body, options);
    if (answer.status >= 200 && answer.status < 300) return { status: "SENT", responseStatus: answer.status };
    const redirect = answer.status >= 300 && answer.status < 400 ? " (redirects are not followed)" : "";
    throw new DeliveryError(`HTTP ${answer.status}${redirect}${answer.excerpt ? `: ${answer.excerpt}` : ""}`, answer.status);
  };
}

/**
 * The outbox worker: every instance runs one. It claims due deliveries, hands each to the sender of its
 * destination, and records the outcome; failures are retried with exponential backoff and jitter until
 * `maxAttempts`, then the delivery is FAILED. It also runs the expiry sweep. Woken right after a commit that wrote
 * deliveries (`wakeWorkers`), and otherwise polls, since other instances write deliveries too.
 *
 * Tests step it by hand with `runOnce({ now })`: no timers, no sleeping.
 */
import { now as clockNow } from "../clock.js";
import type { Logger } from "../logger.js";
import { claimDue, complete, fail, release, type ClaimedDelivery } from "./outbox.js";
import { sweepExpired } from "./expiry.js";

/**
 * Sends one delivery; throws when it failed (a `DeliveryError` may say what the other side answered). Returns
 * DISABLED when the delivery was consumed without sending; `{ status, responseStatus }` to record an HTTP answer.
 */
export type Sender = (delivery: ClaimedDelivery, at: Date) => Promise<SendOutcome>;
export type SendOutcome = "SENT" | "DISABLED" | { status: "SENT" | "DISABLED"; responseStatus?: number };

/** A failed attempt, with the HTTP status the destination answered (null: no answer). */
export class DeliveryError extends Error {
  constructor(
    message: string,
    readonly responseStatus: number | null = null,
  ) {
    super(message);
    this.name = "DeliveryError";
  }
}

export interface WorkerOptions {
  senders: Record<string, Sender>;
  logger: Logger;
  /** Attempts before a delivery is FAILED. */
  maxAttempts: number;
  /** The first retry waits about this long; each next one twice as long, up to `maxBackoffMs`. */
  backoffMs: number;
  maxBackoffMs?: number;
  /** How often to look for work when nothing woke the worker. */
  pollMs: number;
  /** How long a claim lasts before another worker may take the delivery over. */
  leaseMs?: number;
  batchSize?: number;
  /** How often the expiry sweep runs (0: never). */
  sweepEveryMs?: number;
}

export interface RunResult {
  claimed: number;
  sent: number;
  disabled: number;
  retried: number;
  failed: number;
  expired: number;
}

export interface Worker {
  /** One pass: the expiry sweep (when due), then one batch of due deliveries. */
  runOnce(options?: { now?: Date; sweep?: boolean }): Promise<RunResult>;
  /** Polls from now on; the first pass after `delayMs` (0: at once). A wake() brings it forward. */
  start(options?: { delayMs?: number }): void;
  wake(): void;
  /**
   * Stops polling and waits for the batch in flight, at most `graceMs` (default: as long as it takes); what is then
   * still claimed, waiting or still being sent, is released so another instance may take it at once. A send that
   * still finishes after its release cannot record its outcome (the claim is no longer its own): at least once.
   */
  stop(options?: { graceMs?: number }): Promise<void>;
}

const workers = new Set<Worker>();

/** Called after a commit that wrote deliveries: this instance's workers look for work now instead of at the next poll. */
export function wakeWorkers(): void {
  for (const worker of workers) worker.wake();
}

/** Exponential backoff with jitter: attempt n waits between half and all of backoffMs × 2^(n-1), capped. */
export function retryDelay(attempts: number, backoffMs: number, maxBackoffMs: number, random = Math.random): number {
  const ceiling = Math.min(maxBackoffMs, backoffMs * 2 ** Math.max(0, attempts - 1));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

export function createWorker(options: WorkerOptions): Worker {
  const { senders, logger, maxAttempts, backoffMs, pollMs } = options;
  const maxBackoffMs = options.maxBackoffMs ?? 3_600_000;
  const leaseMs = options.leaseMs ?? 60_000;
  const batchSize = options.batchSize ?? 20;
  const sweepEveryMs = options.sweepEveryMs ?? 60_000;
  let running = false;
  let stopping = false;
  let timer: NodeJS.Timeout | undefined;
  let inFlight: Promise<unknown> = Promise.resolve();
  let wakeRequested = false;
  let lastSweep = 0;
  /** Claimed but not yet handed to a sender: released on stop. */
  const waiting = new Set<ClaimedDelivery>();
  /** Handed to a sender and not yet recorded: released on stop if the grace runs out. */
  const sending = new Set<ClaimedDelivery>();

  async function deliver(delivery: ClaimedDelivery, at: Date, result: RunResult): Promise<void> {
    waiting.delete(delivery);
    sending.add(delivery);
    try {
      await attempt(delivery, at, result);
    } finally {
      sending.delete(delivery);
    }
  }

  async function attempt(delivery: ClaimedDelivery, at: Date, result: RunResult): Promise<void> {
    const sender = senders[delivery.destination];
    try {
      if (!sender) throw new Error(`No sender for destination "${delivery.destination}"`);
      const sent = await sender(delivery, at);
      const outcome = typeof sent === "string" ? { status: sent } : sent;
      await complete(delivery, outcome.status, clockNow(), outcome.responseStatus);
      if (outcome.status === "SENT") result.sent += 1;
      else result.disabled += 1;
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      const retryAt =
        delivery.attempts < maxAttempts ? new Date(clockNow().getTime() + retryDelay(delivery.attempts, backoffMs, maxBackoffMs)) : null;
      await fail(delivery, message, retryAt, clockNow(), error instanceof DeliveryError ? error.responseStatus : undefined);
      if (retryAt) result.retried += 1;
      else result.failed += 1;
      logger.warn("delivery failed", {
        deliveryId: delivery.id,
        destination: delivery.destination,
        attempts: delivery.attempts,
        willRetry: retryAt !== null,
        error: message,
      });
    }
  }

  async function runOnce({ now = clockNow(), sweep }: { now?: Date; sweep?: boolean } = {}): Promise<RunResult> {
    const result: RunResult = { claimed: 0, sent: 0, disabled: 0, retried: 0, failed: 0, expired: 0 };
    if (sweep ?? (sweepEveryMs > 0 && now.getTime() - lastSweep >= sweepEveryMs)) {
      lastSweep = now.getTime();
      result.expired = await sweepExpired(now);
    }
    const claimed = await claimDue(now, batchSize, leaseMs, Object.keys(senders));
    result.claimed = claimed.length;
    for (const delivery of claimed) waiting.add(delivery);
    if (stopping) {
      await release(claimed);
      waiting.clear();
      return result;
    }
    await Promise.all(claimed.map((delivery) => deliver(delivery, now, result)));
    return result;
  }

  function schedule(delayMs: number): void {
    if (stopping) return;
    clearTimeout(timer);
    timer = setTimeout(loop, delayMs);
    timer.unref();
  }

  function loop(): void {
    if (running || stopping) return;
    running = true;
    wakeRequested = false;
    const pass = runOnce().then(
      (result) => result.claimed >= batchSize || wakeRequested,
      (error: unknown) => {
        logger.warn("outbox worker pass failed", { error });
        return false;
      },
    );
    inFlight = pass;
    void pass.then((again) => {
      running = false;
      schedule(again ? 0 : pollMs);
    });
  }

  const worker: Worker = {
    runOnce,
    start({ delayMs = 0 } = {}) {
      workers.add(worker);
      schedule(delayMs);
    },
    wake() {
      if (running) wakeRequested = true;
      else schedule(0);
    },
    async stop({ graceMs }: { graceMs?: number } = {}) {
      stopping = true;
      workers.delete(worker);
      clearTimeout(timer);
      const finished = inFlight.catch(() => {});
      if (graceMs === undefined) await finished;
      else {
        let grace: NodeJS.Timeout | undefined;
        await Promise.race([finished, new Promise<void>((resolve) => (grace = setTimeout(resolve, graceMs)))]);
        clearTimeout(grace);
      }
      const unfinished = [...waiting, ...sending];
      if (sending.size > 0) logger.warn("stopping with deliveries still being sent; releasing them", { deliveries: sending.size });
      waiting.clear();
      sending.clear();
      if (unfinished.length > 0) await release(unfinished).catch(() => {});
    },
  };
  return worker;
}

/**
 * The one clock. Every "now" in the server (expiry, answers, rate-limit windows, the outbox) comes from here, so
 * tests move time with `setClock` instead of sleeping.
 *
 * Two clocks stay on wall time on purpose: JWT expiry (checked by jose; it is the identity provider's time, and
 * moving the server's clock in a test must not sign its users out) and log timestamps (read beside other systems' logs).
 */
let offsetMs = 0;
let fixed: Date | undefined;

/** The current instant. */
export function now(): Date {
  return fixed ? new Date(fixed.getTime()) : new Date(Date.now() + offsetMs);
}

/** Tests only: freeze the clock at `at`, or move it by `offset` milliseconds; `resetClock()` undoes both. */
export function setClock(options: { at?: Date; offsetMs?: number }): void {
  fixed = options.at;
  offsetMs = options.offsetMs ?? 0;
}

export function resetClock(): void {
  fixed = undefined;
  offsetMs = 0;
}

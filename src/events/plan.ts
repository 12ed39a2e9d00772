/**
 * What the outbox writes deliveries for, decided once from the configuration at start-up (src/server.ts): the
 * domain functions that record events run inside transactions and must not need the configuration passed down.
 *
 * email: "smtp" sends through SMTP_URL; "log" (development without SMTP_URL) writes the invitation link to the log
 * and marks the delivery DISABLED; "off" (production without SMTP_URL) records the delivery as DISABLED at once and
 * never stores the token.
 */
export interface DeliveryPlan {
  email: "smtp" | "log" | "off";
}

let plan: DeliveryPlan = { email: "off" };

export function deliveryPlan(): DeliveryPlan {
  return plan;
}

export function setDeliveryPlan(next: DeliveryPlan): void {
  plan = next;
}

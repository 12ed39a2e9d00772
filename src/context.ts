import type { Viewer } from "./auth/viewer.js";
import type { Loaders } from "./loaders.js";
import type { RequestBudgets } from "./ratelimit.js";
import type { SubscriptionHub } from "./subscriptions/hub.js";

/** What every resolver and rule sees. The Prisma client is deliberately not here (see src/db/client.ts). */
export interface Context {
  requestId: string;
  viewer: Viewer;
  loaders: Loaders;
  settings: {
    invitationTtlHours: number;
    /** WEBHOOK_ALLOW_PRIVATE: webhook endpoints may use http and non-public addresses. */
    webhookAllowPrivate?: boolean;
  };
  /** Abuse budgets of this request's client (absent, or UNLIMITED, when rate limiting is off). */
  budgets?: RequestBudgets;
  /** Where subscriptions find their live events, and count their open streams (src/subscriptions/hub.ts). */
  subscriptions?: SubscriptionHub;
  /** The client's address (see TRUST_PROXY), for the per-address bound on open subscriptions. */
  clientAddress?: () => string | undefined;
  /** Aborted at the execution deadline (src/plugins/deadline.ts); object fields stop starting then. */
  executionSignal?: AbortSignal;
}

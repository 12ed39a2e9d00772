/**
 * Request rate limits: every GraphQL operation that reaches execution counts against its client's budget of
 * `max` requests per window; past it, RATE_LIMITED with HTTP 429 and Retry-After.
 *
 * The algorithm is a fixed window: one counter per client, created by the first request and gone when its window
 * ends. That is one atomic INCR (+ PEXPIRE on the first) in Redis, one round trip, and one small entry in memory. Its
 * known weakness, a client spending two budgets across a window boundary, is acceptable for abuse protection; a
 * sliding log costs memory per request, and a token bucket needs a read-modify-write script per request with clock
 * agreement between instances, for a smoothness this API does not need.
 *
 * Counters live in memory (per instance: N instances allow N budgets) or, with REDIS_URL, in Redis, shared by every
 * instance. If the store fails (Redis unreachable), requests are let through and a warning is logged at most once
 * per window: availability over strictness.
 */
import { isIPv6 } from "node:net";
import type { Plugin } from "graphql-yoga";
import { Redis } from "ioredis";
import type { Viewer } from "./auth/viewer.js";
import type { Config } from "./config.js";
import { now } from "./clock.js";
import { RateLimitedError } from "./errors.js";
import type { Logger } from "./logger.js";

/** A client's current window: how many requests it counted and when it ends (epoch ms). */
export interface WindowCount {
  count: number;
  resetAt: number;
}

/** Where counters live. */
export interface RateLimitStore {
  /** Counts one request for `key`, opening a window of `windowMs` when none is open. Rejects when the store fails. */
  hit(key: string, windowMs: number): Promise<WindowCount>;
  /** The open window of `key` without counting, or undefined when none is open. */
  peek(key: string): Promise<WindowCount | undefined>;
  close(): Promise<void>;
}

/**
 * Counters in this process. Memory stays bounded: expired windows are dropped as requests arrive, and past
 * `maxKeys` clients the oldest window is dropped (that client starts afresh) rather than growing without limit.
 */
export function createMemoryStore(options: { maxKeys?: number } = {}): RateLimitStore {
  const maxKeys = options.maxKeys ?? 100_000;
  // Insertion order is the order windows open, so (for one window length) the order they end: expired windows
  // are always at the front, and each request drops them in time proportional to how many there are.
  const windows = new Map<string, WindowCount>();
  return {
    async hit(key, windowMs) {
      const at = now().getTime();
      for (const [k, window] of windows) {
        if (window.resetAt > at) break;
        windows.delete(k);
      }
      let window = windows.get(key);
      if (!window || window.resetAt <= at) {
        windows.delete(key);
        if (windows.size >= maxKeys) windows.delete(windows.keys().next().value!);
        window = { count: 0, resetAt: at + windowMs };
        windows.set(key, window);
      }
      window.count += 1;
      return { count: window.count, resetAt: window.resetAt };
    },
    async peek(key) {
      const window = windows.get(key);
      return window && window.resetAt > now().getTime() ? { count: window.count, resetAt: window.resetAt } : undefined;
    },
    async close() {
      windows.clear();
    },
  };
}

/**
 * INCR, and on the window's first request (no TTL yet) PEXPIRE; returns the count and the milliseconds left. Also
 * repairs a key that lost its TTL, which would otherwise block its client for good. Atomic, one round trip.
 */
const HIT_SCRIPT = `
local count = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return { count, ttl }
`;

/** The count and milliseconds left of a window, in one round trip; 0 and a negative TTL when none is open. */
const PEEK_SCRIPT = `
local count = tonumber(redis.call('GET', KEYS[1]) or '0')
return { count, redis.call('PTTL', KEYS[1]) }
`;

export interface RedisStoreOptions {
  /** Prepended to every key, so that several deployments (or test runs) can share one Redis. */
  prefix?: string;
  /** How long a request waits for Redis before it is let through. */
  commandTimeoutMs?: number;
  logger?: Logger;
}

/**
 * Counters in Redis, shared by every instance using the same Redis and prefix. The remaining time comes from
 * Redis' TTL, so instances' clocks need not agree.
 */
export function createRedisStore(url: string, options: RedisStoreOptions = {}): RateLimitStore {
  const prefix = options.prefix ?? "invitations:ratelimit:";
  const redis = new Redis(url, {
    // While disconnected, fail at once (so the limiter lets the request through) instead of queueing the request
    // behind a reconnect; keep reconnecting in the background.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: options.commandTimeoutMs ?? 250,
    connectTimeout: 2_000,
    retryStrategy: (attempt) => Math.min(attempt * 100, 2_000),
  });
  // Without a listener, ioredis prints every failed reconnect; the limiter already warns about failures.
  redis.on("error", (error: Error) => options.logger?.debug("redis connection error", { error: error.message }));
  redis.defineCommand("rateLimitHit", { numberOfKeys: 1, lua: HIT_SCRIPT });
  redis.defineCommand("rateLimitPeek", { numberOfKeys: 1, lua: PEEK_SCRIPT });
  const commands = redis as unknown as {
    rateLimitHit(key: string, windowMs: number): Promise<[number, number]>;
    rateLimitPeek(key: string): Promise<[number, number]>;
  };
  return {
    async hit(key, windowMs) {
      const [count, ttl] = await commands.rateLimitHit(prefix + key, windowMs);
      return { count, resetAt: now().getTime() + ttl };
    },
    async peek(key) {
      const [count, ttl] = await commands.rateLimitPeek(prefix + key);
      return count > 0 && ttl > 0 ? { count, resetAt: now().getTime() + ttl } : undefined;
    },
    async close() {
      if (redis.status === "ready") {
        try {
          await redis.quit();
          return;
        } catch {
          // fall through to a hard disconnect
        }
      }
      redis.disconnect();
    },
  };
}

export interface RateLimiterOptions {
  store: RateLimitStore;
  /** Requests per window per client (at least 1). */
  max: number;
  windowMs: number;
  /** Proxies in front that append to X-Forwarded-For (see clientAddress); 0 ignores the header. */
  trustProxy?: number;
  logger: Logger;
  /** Called for each refused request (the metrics count them), with the kind of client key. */
  onRefused?: (client: "user" | "ip" | "anonymous") => void;
  /** The abuse budgets (Config["abuse"]); defaults: DEFAULT_ABUSE. */
  abuse?: Config["abuse"];
}

export const DEFAULT_ABUSE: Config["abuse"] = {
  addressMax: 3_000,
  bruteForce: { max: 20, windowMs: 900_000 },
  invitations: { perUser: 100, perOrganization: 500, windowMs: 3_600_000 },
};

/** The budgets of one request, bound to its client address; in the GraphQL context as `ctx.budgets`. */
export interface RequestBudgets {
  /**
   * Runs a look-up by secret token (an invitation's). Past the address's brute-force budget it is RATE_LIMITED
   * without looking; a miss (`found` false) spends the budget, and the miss that exhausts it is RATE_LIMITED.
   */
  tokenLookup<T>(lookUp: () => Promise<T>, found: (value: T) => boolean): Promise<T>;
  /** Counts one invitation sent (created or resent) by `userId` in `organizationId`; RATE_LIMITED past either budget. */
  invitationSent(userId: string, organizationId: string): Promise<void>;
}

/** Budgets that never refuse: the server without a limiter (RATE_LIMIT_MAX=0, tests). */
export const UNLIMITED: RequestBudgets = {
  tokenLookup: (lookUp) => lookUp(),
  invitationSent: async () => {},
};

export interface RateLimiter {
  /**
   * Before any token is verified or user looked up: counts the request against its client address (anonymous
   * requests against the anonymous budget, `max`; requests with a token against the larger address budget) and,
   * for a request with a token, refuses it while the address's brute-force budget is spent.
   */
  checkAddress(request: Request, serverContext: object): Promise<void>;
  /** Spends the brute-force budget for a request whose token was refused; RATE_LIMITED once it is spent. */
  badToken(request: Request, serverContext: object): Promise<void>;
  /** Counts a signed-in request against its user's budget. Called once the viewer is known. */
  check(request: Request, serverContext: object, viewer: Viewer): Promise<void>;
  /** The per-request budgets for resolvers and rules. */
  budgets(request: Request, serverContext: object): RequestBudgets;
  /** Adds RateLimit-Limit, RateLimit-Remaining and RateLimit-Reset (seconds) to the responses of counted requests. */
  readonly plugin: Plugin;
  close(): Promise<void>;
}

export function createRateLimiter(options: RateLimiterOptions): RateLimiter {
  const { store, max, windowMs, logger } = options;
  const trustProxy = options.trustProxy ?? 0;
  if (!Number.isInteger(max) || max < 1) throw new RangeError("max must be a whole number of at least 1 (leave the limiter out to disable limits)");
  const counted = new WeakMap<Request, WindowCount>();
  let warnedAt = Number.NEGATIVE_INFINITY;
  let failing = false;

  const hit = async (key: string, length = windowMs): Promise<WindowCount | undefined> => {
    try {
      const window = await store.hit(key, length);
      if (failing) {
        failing = false;
        logger.info("rate limit store reachable again; limits apply");
      }
      return window;
    } catch (error) {
      failing = true;
      const at = now().getTime();
      if (at - warnedAt >= windowMs) {
        warnedAt = at;
        logger.warn("rate limit store unreachable; requests are let through without limits", { error });
      }
      return undefined;
    }
  };

  const abuse = options.abuse ?? DEFAULT_ABUSE;
  const refuse = (window: WindowCount, client: string) => {
    options.onRefused?.(client.startsWith("user") ? "user" : client === "anonymous" ? "anonymous" : "ip");
    return new RateLimitedError(Math.max(1, window.resetAt - now().getTime()));
  };
  const addressOf = (request: Request, serverContext: object) => anonymousKey(request, serverContext, trustProxy);
  const peek = async (key: string) => {
    try {
      return await store.peek(key);
    } catch {
      return undefined; // fail open, like hit (which logs the outage)
    }
  };
  const spendBruteForce = async (address: string) => {
    const window = await hit(`bf:${address}`, abuse.bruteForce.windowMs);
    if (window && window.count > abuse.bruteForce.max) throw refuse(window, address);
  };

  return {
    async checkAddress(request, serverContext) {
      const address = addressOf(request, serverContext);
      if (!request.headers.get("authorization")?.trim()) {
        const window = await hit(address);
        if (!window) return;
        counted.set(request, window);
        if (window.count > max) throw refuse(window, address);
        return;
      }
      const spent = await peek(`bf:${address}`);
      if (spent && spent.count > abuse.bruteForce.max) throw refuse(spent, address);
      const window = await hit(`addr:${address}`);
      if (window && window.count > abuse.addressMax) throw refuse(window, address);
    },
    async badToken(request, serverContext) {
      await spendBruteForce(addressOf(request, serverContext));
    },
    async check(request, _serverContext, viewer) {
      if (viewer.kind !== "user") return;
      const window = await hit(`user:${viewer.id}`);
      if (!window) return;
      counted.set(request, window);
      if (window.count > max) throw refuse(window, "user");
    },
    budgets(request, serverContext) {
      const address = addressOf(request, serverContext);
      return {
        async tokenLookup(lookUp, found) {
          const spent = await peek(`bf:${address}`);
          if (spent && spent.count > abuse.bruteForce.max) throw refuse(spent, address);
          const value = await lookUp();
          if (!found(value)) await spendBruteForce(address);
          return value;
        },
        async invitationSent(userId, organizationId) {
          const { perUser, perOrganization, windowMs: invitationsWindowMs } = abuse.invitations;
          // The user's first: an attempt refused there must not spend the organization's budget for its members.
          const byUser = await hit(`invite-user:${userId}`, invitationsWindowMs);
          if (byUser && byUser.count > perUser) throw refuse(byUser, "user");
          const byOrganization = await hit(`invite-org:${organizationId}`, invitationsWindowMs);
          if (byOrganization && byOrganization.count > perOrganization) throw refuse(byOrganization, "user");
        },
      };
    },
    plugin: {
      onResponse({ request, response }) {
        const window = counted.get(request);
        if (!window) return;
        response.headers.set("RateLimit-Limit", String(max));
        response.headers.set("RateLimit-Remaining", String(Math.max(0, max - window.count)));
        response.headers.set("RateLimit-Reset", String(Math.max(0, Math.ceil((window.resetAt - now().getTime()) / 1000))));
      },
    },
    close: () => store.close(),
  };
}

/** The limiter the configuration asks for, or undefined when RATE_LIMIT_MAX is 0. */
export function rateLimiterFromConfig(
  config: Pick<Config, "redisUrl" | "rateLimit" | "trustProxy"> & Partial<Pick<Config, "abuse">>,
  logger: Logger,
  hooks: Pick<RateLimiterOptions, "onRefused"> = {},
): RateLimiter | undefined {
  if (config.rateLimit.max === 0) return undefined;
  const store = config.redisUrl ? createRedisStore(config.redisUrl, { logger }) : createMemoryStore();
  return createRateLimiter({ store, ...config.rateLimit, abuse: config.abuse, trustProxy: config.trustProxy, logger, ...hooks });
}

/** `ip:<address>`, or `anonymous` (one budget for all) when no address is known. */
function anonymousKey(request: Request, serverContext: object, trustProxy: number): string {
  const address = clientAddress(request, serverContext, trustProxy);
  return address ? `ip:${address}` : "anonymous";
}

/**
 * The client's address. Without trusted proxies, the connection's peer (Node's `req.socket.remoteAddress`; absent
 * under `server.fetch`). With `trustProxy` = n, the address n hops back along X-Forwarded-For, each proxy having
 * appended the address it received from: entries further left were written by the client and could be anything.
 * Without a socket, the peer counts as the first proxy. IPv6 addresses are grouped by /64, the block one
 * subscriber usually holds.
 */
export function clientAddress(request: Request, serverContext: object, trustProxy: number): string | undefined {
  const peer = (serverContext as { req?: { socket?: { remoteAddress?: string } } }).req?.socket?.remoteAddress;
  if (trustProxy === 0) return normalizeAddress(peer);
  const forwarded = (request.headers.get("x-forwarded-for") ?? "")
    .split(",")
    .map((entry) => entry.trim())
    .filter((entry) => entry !== "");
  const chain = [...forwarded, peer];
  return normalizeAddress(chain[Math.max(0, chain.length - 1 - trustProxy)]);
}

function normalizeAddress(address: string | undefined): string | undefined {
  if (!address) return undefined;
  const plain = address.replace(/%.*$/, "").toLowerCase();
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(plain);
  if (mapped) return mapped[1];
  return isIPv6(plain) ? ipv6Prefix64(plain) : plain;
}

function ipv6Prefix64(address: string): string {
  const groups = (part: string) => (part === "" ? [] : part.split(":").flatMap((g) => (g.includes(".") ? ["0", "0"] : [g])));
  const [head = "", tail = ""] = address.split("::");
  const front = groups(head);
  const back = address.includes("::") ? groups(tail) : [];
  const full = [...front, ...Array<string>(Math.max(0, 8 - front.length - back.length)).fill("0"), ...back];
  return `${full
    .slice(0, 4)
    .map((g) => parseInt(g, 16).toString(16))
    .join(":")}::/64`;
}

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
  const commands = redis as unknown as { rateLimitHit(key: string, windowMs: number): Promise<[number, number]> };
  return {
    async hit(key, windowMs) {
      const [count, ttl] = await commands.rateLimitHit(prefix + key, windowMs);
      return { count, resetAt: now().getTime() + ttl };
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
}

export interface RateLimiter {
  /**
   * Counts a request of `viewer` (or, anonymous, of its client address) and throws RateLimitedError past the
   * budget. Called from the context factory, once the viewer is known.
   */
  check(request: Request, serverContext: object, viewer: Viewer): Promise<void>;
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

  const hit = async (key: string): Promise<WindowCount | undefined> => {
    try {
      const window = await store.hit(key, windowMs);
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

  return {
    async check(request, serverContext, viewer) {
      const key = viewer.kind === "user" ? `user:${viewer.id}` : anonymousKey(request, serverContext, trustProxy);
      const window = await hit(key);
      if (!window) return;
      counted.set(request, window);
      if (window.count > max) {
        options.onRefused?.(viewer.kind === "user" ? "user" : key === "anonymous" ? "anonymous" : "ip");
        throw new RateLimitedError(Math.max(1, window.resetAt - now().getTime()));
      }
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
  config: Pick<Config, "redisUrl" | "rateLimit" | "trustProxy">,
  logger: Logger,
  hooks: Pick<RateLimiterOptions, "onRefused"> = {},
): RateLimiter | undefined {
  if (config.rateLimit.max === 0) return undefined;
  const store = config.redisUrl ? createRedisStore(config.redisUrl, { logger }) : createMemoryStore();
  return createRateLimiter({ store, ...config.rateLimit, trustProxy: config.trustProxy, logger, ...hooks });
}

/** `ip:<address>` for an anonymous request, or `anonymous` (one budget for all) when no address is known. */
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

/**
 * Where live invitation events travel between the transaction that committed them (src/events/publish.ts) and the
 * open subscription streams: graphql-yoga's pub/sub, in memory for one instance, or over Redis pub/sub
 * (`@graphql-yoga/redis-event-target`) when REDIS_URL is set, so that a change made through any instance reaches
 * subscribers on every instance. Each event goes to two topics: its organization's (invitationEvents) and its
 * invitee address's (viewerInvitationEvents).
 *
 * The hub also keeps the open streams: how many each user and each client address holds (bounded, per instance),
 * and a way to end them all at shutdown so that a draining server does not wait on streams that never end.
 */
import { createRedisEventTarget } from "@graphql-yoga/redis-event-target";
import { createPubSub, Repeater } from "graphql-yoga";
import { Redis, type RedisOptions } from "ioredis";
import { AppError } from "../errors.js";
import { addPublisher, type PublishedEvent } from "../events/publish.js";
import type { Logger } from "../logger.js";

export interface SubscriptionLimits {
  /** Open subscriptions per user on one instance. */
  maxPerUser: number;
  /** Open subscriptions per client address on one instance. */
  maxPerAddress: number;
}

export interface SubscriptionHub {
  readonly transport: "memory" | "redis";
  /**
   * Events for `topic` as a stream that `endAll` (and the client going away) ends. `onEvent` runs for each event
   * before it is passed on: it answers the event to pass on, or `{ end }` to end the stream after passing that on.
   */
  stream<T>(topic: Topic, onEvent: (event: PublishedEvent) => Promise<T | { end: T }>, onClose: () => void): AsyncIterable<T>;
  /** Counts one more open stream for `userId` and `address`; RATE_LIMITED past the limits. Returns its release. */
  open(userId: string, address: string | undefined): () => void;
  /** How many streams are open on this instance. */
  openCount(): number;
  /** Ends every open stream: each client sees its stream complete. */
  endAll(): void;
  /** Shutdown: ends every open stream, and any opened from now on at once. Publishing goes on until `close`. */
  drain(): void;
  /** Ends the streams and closes the Redis connections. */
  close(): Promise<void>;
}

export type Topic = { organizationId: string } | { email: string };

class TooManySubscriptionsError extends AppError {
  constructor(limit: number, per: "user" | "address") {
    super(`Too many open subscriptions (at most ${limit} per ${per}); close one before opening another.`, "RATE_LIMITED", {
      retryAfterMs: 5_000,
    });
  }
}

const PREFIX = "invitations:events:";

function topicName(topic: Topic): string {
  return "organizationId" in topic ? `${PREFIX}organization:${topic.organizationId}` : `${PREFIX}invitee:${topic.email}`;
}

export interface HubOptions {
  /** Redis pub/sub across instances; none: in memory (one instance). */
  redisUrl?: string;
  limits: SubscriptionLimits;
  logger: Logger;
}

export function createHub(options: HubOptions): SubscriptionHub {
  const { limits, logger } = options;
  const redis = options.redisUrl ? redisClients(options.redisUrl, logger) : undefined;
  const pubsub = createPubSub<Record<string, [PublishedEvent]>>(
    redis ? { eventTarget: createRedisEventTarget({ publishClient: redis.publish, subscribeClient: redis.subscribe }) } : {},
  );
  const unregister = addPublisher((event) => {
    pubsub.publish(topicName({ organizationId: event.organizationId }), event);
    pubsub.publish(topicName({ email: event.email }), event);
  });

  const byUser = new Map<string, number>();
  const byAddress = new Map<string, number>();
  const enders = new Set<() => void>();
  let draining = false;
  const bump = (map: Map<string, number>, key: string, by: number) => {
    const next = (map.get(key) ?? 0) + by;
    if (next <= 0) map.delete(key);
    else map.set(key, next);
  };

  return {
    transport: redis ? "redis" : "memory",
    stream<T>(topic: Topic, onEvent: (event: PublishedEvent) => Promise<T | { end: T }>, onClose: () => void): AsyncIterable<T> {
      // A Repeater rather than an async generator: when the client goes away while no event is coming, `return()`
      // settles at once (an async generator would wait for the next event to notice), so its slot is freed at once.
      return new Repeater<T>(async (push, stop) => {
        if (draining) {
          onClose();
          stop();
          return;
        }
        const source = pubsub.subscribe(topicName(topic))[Symbol.asyncIterator]();
        // The first next() attaches the listener (in memory at once; over Redis once SUBSCRIBE has gone out): only
        // then does the stream count as open.
        let pending = source.next();
        const end = () => stop();
        enders.add(end);
        void stop.then(() => source.return?.());
        const stopped = stop.then(() => ({ done: true as const, value: undefined }));
        try {
          for (;;) {
            const next = await Promise.race([pending, stopped]);
            pending = source.next();
            if (next.done) break;
            const verdict = await onEvent(next.value);
            if (verdict !== null && typeof verdict === "object" && "end" in verdict) {
              await push((verdict as { end: T }).end);
              break;
            }
            await push(verdict as T);
          }
        } finally {
          enders.delete(end);
          onClose();
          stop();
        }
      });
    },
    open(userId, address) {
      if ((byUser.get(userId) ?? 0) >= limits.maxPerUser) throw new TooManySubscriptionsError(limits.maxPerUser, "user");
      if (address && (byAddress.get(address) ?? 0) >= limits.maxPerAddress) throw new TooManySubscriptionsError(limits.maxPerAddress, "address");
      bump(byUser, userId, 1);
      if (address) bump(byAddress, address, 1);
      let released = false;
      return () => {
        if (released) return;
        released = true;
        bump(byUser, userId, -1);
        if (address) bump(byAddress, address, -1);
      };
    },
    openCount: () => enders.size,
    endAll() {
      for (const end of [...enders]) end();
    },
    drain() {
      draining = true;
      this.endAll();
    },
    async close() {
      this.drain();
      unregister();
      await redis?.close();
    },
  };
}

/**
 * The two connections Redis pub/sub needs (a subscribed connection can do nothing else). ioredis 6, the client the
 * rate limiter already uses: @graphql-yoga/redis-event-target calls only publish, subscribe, unsubscribe and the
 * "message" event, which ioredis 6 keeps as 5 had them (docs/platform.md). Its promises are caught here: the event
 * target does not await them, and a Redis outage must not become an unhandled rejection that stops the process.
 */
function redisClients(url: string, logger: Logger) {
  const connect = (role: string, options: RedisOptions) => {
    const client = new Redis(url, { connectTimeout: 2_000, retryStrategy: (attempt) => Math.min(attempt * 100, 2_000), ...options });
    client.on("error", (error: Error) => logger.debug("redis connection error", { role, error: error.message }));
    return client;
  };
  // A publish waits through a short outage at most (two reconnects), then is dropped with a warning: the change it
  // reports is committed whatever happens here.
  const publisher = connect("subscriptions-publish", { maxRetriesPerRequest: 2 });
  // Subscribed channels are subscribed again after a reconnect (ioredis' autoResubscribe).
  const subscriber = connect("subscriptions-subscribe", {});
  const warn = (what: string) => (error: unknown) =>
    logger.warn(`redis ${what} failed`, { error: error instanceof Error ? error.message : String(error) });
  const publish = {
    publish: (channel: string, message: string) => publisher.publish(channel, message).catch(warn("publish")),
  } as unknown as Redis;
  const subscribe = {
    on: (event: string, listener: (...args: unknown[]) => void) => subscriber.on(event, listener),
    subscribe: (channel: string) => subscriber.subscribe(channel).catch(warn("subscribe")),
    unsubscribe: (channel: string) => subscriber.unsubscribe(channel).catch(warn("unsubscribe")),
  } as unknown as Redis;
  return {
    publish,
    subscribe,
    async close() {
      await Promise.all([publisher.quit().catch(() => publisher.disconnect()), subscriber.quit().catch(() => subscriber.disconnect())]);
    },
  };
}

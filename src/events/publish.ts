/**
 * Live events for GraphQL subscriptions, published only once the transaction that recorded them has committed.
 *
 * Why here and not from the outbox worker: a subscription is a live view, not a delivery to be retried. Publishing
 * straight after the commit reaches subscribers within the request that made the change, writes nothing more to the
 * database (createInvitation keeps its statement count) and needs no row per event and subscriber destination. What
 * it gives up is the outbox's guarantee: an instance that dies between its commit and the publish (a few
 * microseconds) loses that live event; the change itself, its timeline entry and its emails and webhooks are
 * committed and delivered as usual, and a client that reconnects reads the current state with a query.
 *
 * How: `transactionWithEvents` runs the lifecycle operation in a transaction and marks that transaction's client;
 * `recordEvent` (src/events/record.ts) hands every event it writes to `keepUntilCommit`, which holds it beside that
 * client. After the commit they are published in order; after a rollback they are dropped with the transaction.
 * Nothing is held for a transaction that was not opened here (its events reach the timeline and the outbox only).
 */
import { prisma } from "../db/client.js";
import type { Prisma } from "../generated/prisma/client.js";
import type { InvitationEventType } from "./record.js";

/** What subscribers are told: enough to route the event and to load what each subscriber selects. */
export interface PublishedEvent {
  /** The InvitationEvent row (the timeline entry) this live event reports. */
  eventId: string;
  type: InvitationEventType;
  invitationId: string;
  organizationId: string;
  /** The invitee's address: viewerInvitationEvents is routed by it. */
  email: string;
  /** ISO 8601. */
  occurredAt: string;
}

export type Publisher = (event: PublishedEvent) => void;

const publishers = new Set<Publisher>();

/** Registers where published events go (src/subscriptions); returns the function that unregisters it. */
export function addPublisher(publisher: Publisher): () => void {
  publishers.add(publisher);
  return () => publishers.delete(publisher);
}

/** Publishes events whose transaction has committed. A failing publisher never fails the caller: the change is done. */
export function publish(events: readonly PublishedEvent[]): void {
  for (const event of events) {
    for (const publisher of publishers) {
      try {
        publisher(event);
      } catch {
        // The publisher logs its own failures (src/subscriptions/hub.ts); the committed change stands.
      }
    }
  }
}

const pending = new WeakMap<Prisma.TransactionClient, PublishedEvent[]>();

/** Keeps `event` until the transaction `tx` commits (see `transactionWithEvents`); nothing when `tx` is not one of those. */
export function keepUntilCommit(tx: Prisma.TransactionClient, event: PublishedEvent): void {
  pending.get(tx)?.push(event);
}

/** `prisma.$transaction(operation)`, then the events `operation` recorded are published (never after a rollback). */
export async function transactionWithEvents<T>(operation: (tx: Prisma.TransactionClient) => Promise<T>): Promise<T> {
  let events: PublishedEvent[] = [];
  const result = await prisma.$transaction(async (tx) => {
    events = [];
    pending.set(tx, events);
    return operation(tx);
  });
  publish(events);
  return result;
}

/**
 * For an operation that makes its change in ONE statement outside any transaction (atomic and committed by itself, so
 * without BEGIN and COMMIT round trips; createInvitation): like `transactionWithEvents`, the events it kept are
 * published once it has returned, and dropped when it throws. `operation` must not run a second write with `db`: it
 * would commit on its own.
 */
export async function statementWithEvents<T>(operation: (db: Prisma.TransactionClient) => Promise<T>): Promise<T> {
  const events: PublishedEvent[] = [];
  // A key of its own for keepUntilCommit, whose calls reach the shared client (prisma is a proxy without own methods).
  const db = Object.create(prisma) as Prisma.TransactionClient;
  pending.set(db, events);
  const result = await operation(db);
  publish(events);
  return result;
}

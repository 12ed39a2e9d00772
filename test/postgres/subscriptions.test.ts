/**
 * Subscriptions across instances: two server processes on one PostgreSQL database with REDIS_URL. A subscriber on one
 * instance (graphql-sse's client) sees the change made through the other, with the invitation's fields; and when
 * its instance stops, the stream completes instead of holding the shutdown until its timeout.
 */
import { createClient, type ExecutionResult } from "graphql-sse";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signDevToken } from "../../src/auth/token.js";
import { createPostgresDatabase } from "../helpers/databases.js";
import { rawId } from "../helpers/fixtures.js";
import { gqlOver, killAll, spawnServer, type ServerProcess } from "../helpers/processes.js";

const SECRET = "subscriptions-test-secret-0123456789-0123456789";
const REDIS_URL = "redis://127.0.0.1:6379";

let servers: ServerProcess[] = [];
let redis: Redis;
const dropLater: Array<() => Promise<void>> = [];
beforeAll(async () => {
  const db = await createPostgresDatabase("invitations_subscriptions");
  dropLater.push(db.drop);
  redis = new Redis(REDIS_URL);
  const env = { DATABASE_URL: db.url, JWT_SECRET: SECRET, REDIS_URL, DATABASE_POOL_SIZE: "4", SHUTDOWN_TIMEOUT_MS: "20000" };
  servers = await Promise.all([spawnServer(env), spawnServer(env)]);
  for (const server of servers) await server.waitFor("/ready", 200);
});
afterAll(async () => {
  await killAll();
  redis?.disconnect();
  for (const drop of dropLater) await drop();
});

async function ok(server: ServerProcess, query: string, variables: Record<string, unknown>, token: string): Promise<any> {
  const { status, body } = await gqlOver(server.url, query, variables, token);
  if (status !== 200 || body.errors) throw new Error(`${status} ${JSON.stringify(body)}`);
  return body.data;
}

/** Polls (bounded) until `count` connections of any instance subscribe to `channel` in Redis. */
async function waitForSubscribers(channel: string, count: number): Promise<void> {
  for (let i = 0; i < 300; i += 1) {
    const [, n] = (await redis.pubsub("NUMSUB", channel)) as [string, number];
    if (Number(n) >= count) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no subscriber on ${channel}`);
}

describe("two instances with Redis", () => {
  it("a subscriber on one instance receives the change made through the other; stopping its instance completes the stream", async () => {
    const [writer, reader] = servers as [ServerProcess, ServerProcess];
    const owner = await signDevToken(SECRET, { sub: "test|sub-owner", email: "owner@example.test", name: "Owner" });
    const org = (await ok(writer, `mutation ($input: CreateOrganizationInput!) { createOrganization(input: $input) { organization { id } } }`, { input: { name: "Subscribed Org" } }, owner))
      .createOrganization.organization;

    const client = createClient({ url: `${reader.url}/graphql`, headers: { authorization: `Bearer ${owner}` }, retryAttempts: 0 });
    const results: ExecutionResult<any>[] = [];
    let arrived!: () => void;
    const first = new Promise<void>((resolve) => (arrived = resolve));
    let completed!: () => void;
    const complete = new Promise<void>((resolve) => (completed = resolve));
    client.subscribe(
      {
        query: `subscription ($id: ID!) { invitationEvents(organizationId: $id) { type actor { name } invitation { id email status organization { id } } } }`,
        variables: { id: org.id },
      },
      {
        next: (result) => {
          results.push(result as ExecutionResult<any>);
          arrived();
        },
        error: (error) => {
          results.push({ errors: [{ message: String(error) }] } as never);
          completed();
        },
        complete: () => completed(),
      },
    );
    await waitForSubscribers(`invitations:events:organization:${rawId(org.id)}`, 1);

    const created = (
      await ok(
        writer,
        `mutation ($input: CreateInvitationInput!) { createInvitation(input: $input) { invitation { id } } }`,
        { input: { organizationId: org.id, email: "invitee@example.test" } },
        owner,
      )
    ).createInvitation.invitation;
    await Promise.race([first, new Promise((_, reject) => setTimeout(() => reject(new Error("no event within 20 s")), 20_000))]);
    expect(results).toEqual([
      {
        data: {
          invitationEvents: {
            type: "CREATED",
            actor: { name: "Owner" },
            invitation: { id: created.id, email: "invitee@example.test", status: "PENDING", organization: { id: org.id } },
          },
        },
      },
    ]);

    // SIGTERM: the open stream is completed at once, so the drain finishes and the process exits 0 (a stream left
    // open would hold the drain until SHUTDOWN_TIMEOUT_MS and the exit code would be 1).
    expect(await reader.stop("SIGTERM", 30_000)).toBe(0);
    await Promise.race([complete, new Promise((_, reject) => setTimeout(() => reject(new Error("stream not completed")), 5_000))]);
    expect(JSON.parse(reader.stderr().split("\n").find((line) => line.includes('"stopping"')) ?? "{}")).toMatchObject({ subscriptions: 1 });
    client.dispose();
  });
});

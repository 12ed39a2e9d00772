/**
 * PostgreSQL outages, through a real server process on a PostgreSQL cluster this test creates (never the shared one):
 * stopped (connections refused) and frozen (SIGSTOP: connections and queries hang). Meanwhile every request that needs
 * the database is answered SERVICE_UNAVAILABLE (503, retryAfterMs) within 3 s and /ready is 503; once the database is
 * back, the same process serves again within 5 s.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signDevToken } from "../../src/auth/token.js";
import { createCluster, type Cluster } from "../helpers/cluster.js";
import { killAll, spawnServer, type ServerProcess } from "../helpers/processes.js";

const SECRET = "outage-test-secret-0123456789-0123456789-01";
const ANSWER_WITHIN_MS = 3_000;
const RECOVER_WITHIN_MS = 5_000;

let cluster: Cluster;
let server: ServerProcess;
let token = "";
let organizationId = "";

beforeAll(async () => {
  cluster = await createCluster();
  server = await spawnServer({ DATABASE_URL: cluster.url, JWT_SECRET: SECRET, DATABASE_POOL_SIZE: "4" });
  await server.waitFor("/ready", 200);
  token = await signDevToken(SECRET, { sub: "outage|owner", email: "owner@example.test", name: "Owner" });
  const created = await graphql(`mutation { createOrganization(input: { name: "Outage" }) { organization { id } } }`);
  expect(created.body.errors).toBeUndefined();
  organizationId = created.body.data.createOrganization.organization.id;
}, 120_000);

afterAll(async () => {
  await killAll();
  await cluster?.destroy();
});

interface Timed {
  status: number;
  body: any;
  ms: number;
}

/** A request with its duration; a client-side limit well past the contract's keeps a hang from hanging the test. */
async function timed(path: string, init?: RequestInit): Promise<Timed> {
  const started = performance.now();
  const response = await fetch(server.url + path, { ...init, signal: AbortSignal.timeout(15_000) });
  const text = await response.text();
  return { status: response.status, body: text.startsWith("{") ? JSON.parse(text) : text, ms: performance.now() - started };
}

function graphql(query: string, variables?: Record<string, unknown>): Promise<Timed> {
  return timed("/graphql", {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/graphql-response+json", authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
}

let invitationCount = 0;
/** What the database is needed for: the viewer (read), an invitation (transaction), and the readiness probe. */
function needsTheDatabase(): Array<Promise<Timed>> {
  invitationCount += 1;
  return [
    graphql(`{ viewer { id email } }`),
    graphql(`query ($id: ID!) { organization(id: $id) { name memberCount } }`, { id: organizationId }),
    graphql(`mutation ($input: CreateInvitationInput!) { createInvitation(input: $input) { invitation { id } } }`, {
      input: { organizationId, email: `outage-${invitationCount}@example.test` },
    }),
    timed("/ready"),
  ];
}

/** Several rounds, the first ones meeting pooled connections that were fine a moment ago, the later ones new ones. */
async function expectUnavailable(rounds: number): Promise<number[]> {
  const durations: number[] = [];
  for (let round = 0; round < rounds; round += 1) {
    const answers = await Promise.all(needsTheDatabase());
    for (const answer of answers) {
      durations.push(Math.round(answer.ms));
      expect(answer.status, JSON.stringify(answer.body)).toBe(503);
      expect(answer.ms, JSON.stringify(answer.body)).toBeLessThan(ANSWER_WITHIN_MS);
    }
    const [viewer, organization, mutation, ready] = answers;
    for (const answer of [viewer!, organization!, mutation!]) {
      expect(answer.body.errors[0].extensions).toEqual({ code: "SERVICE_UNAVAILABLE", retryAfterMs: expect.any(Number) });
    }
    expect(ready!.body).toMatchObject({ status: "unavailable", database: "down" });
  }
  // /health needs no database and answers at once throughout.
  const health = await timed("/health");
  expect(health.status).toBe(200);
  expect(health.ms).toBeLessThan(500);
  return durations;
}

/** From the moment the database is back: how long until /ready and a read and a write succeed again. */
async function timeToRecover(): Promise<number> {
  const started = performance.now();
  for (;;) {
    const [viewer, mutation, ready] = await Promise.all([
      graphql(`{ viewer { id } }`),
      graphql(`mutation ($input: CreateInvitationInput!) { createInvitation(input: $input) { invitation { id } } }`, {
        input: { organizationId, email: `recovered-${(invitationCount += 1)}@example.test` },
      }),
      timed("/ready"),
    ]);
    if (viewer.status === 200 && !viewer.body.errors && mutation.status === 200 && !mutation.body.errors && ready.status === 200) {
      return performance.now() - started;
    }
    if (performance.now() - started > 30_000) throw new Error(`not recovered after 30 s: ${JSON.stringify([viewer.body, mutation.body])}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe("PostgreSQL refusing connections (stopped)", () => {
  it("answers 503 within 3 s while it is down, and serves again within 5 s of its return, without a restart", async () => {
    await cluster.stop();
    const durations = await expectUnavailable(3);
    console.info(`stopped: answers in ${durations.join(", ")} ms`);
    await cluster.start();
    const recovered = await timeToRecover();
    console.info(`stopped: recovered ${Math.round(recovered)} ms after the database was back`);
    expect(recovered).toBeLessThan(RECOVER_WITHIN_MS);
    expect(server.child.exitCode).toBeNull();
  }, 120_000);
});

describe("PostgreSQL silent (a frozen host)", () => {
  it("answers 503 within 3 s while it hangs, and serves again within 5 s of its thaw, without a restart", async () => {
    // Warm pooled connections first, so that the outage meets connections that hang rather than only new ones.
    await Promise.all(Array.from({ length: 4 }, () => graphql(`{ viewer { id } }`)));
    await cluster.freeze();
    let durations: number[];
    try {
      durations = await expectUnavailable(3);
    } finally {
      await cluster.thaw();
    }
    console.info(`frozen: answers in ${durations.join(", ")} ms`);
    const recovered = await timeToRecover();
    console.info(`frozen: recovered ${Math.round(recovered)} ms after the thaw`);
    expect(recovered).toBeLessThan(RECOVER_WITHIN_MS);
    expect(server.child.exitCode).toBeNull();
    // No outage ever surfaced as an internal error.
    expect(server.stderr()).not.toContain("INTERNAL_SERVER_ERROR");
    expect(server.stderr()).not.toContain('"message":"unexpected error"');
  }, 120_000);
});

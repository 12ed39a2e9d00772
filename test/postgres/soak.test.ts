/**
 * A small soak through the real server on PostgreSQL: the clients of `npm run soak` race creates, resends, revokes,
 * accepts, declines, deletes and reads for a few seconds, then the data invariants of src/db/invariants.ts must hold
 * for the organizations they used, and no answer may be an internal error or one the contract does not allow.
 * (PostgreSQL only: PGlite runs one statement at a time, so nothing races there.)
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { answersWithReplacedTokens, createPopulation, runClients, runId, tallyRows, type Send } from "../../bench/soak/workload.js";
import type { SqlSession } from "../../src/db/client.js";
import { checkInvariants } from "../../src/db/invariants.js";
import { startApp, TEST_SECRET, type TestApp } from "../helpers/app.js";
import { rawId } from "../helpers/fixtures.js";

let app: TestApp;
let session: SqlSession;
beforeAll(async () => {
  app = await startApp();
  session = await app.db.session();
});
afterAll(async () => {
  await session.release();
  await app.close();
});

describe("a small soak on PostgreSQL", () => {
  it("keeps every invariant while clients race on the same invitations", async () => {
    expect(app.dbKind).toBe("postgres");
    const send: Send = async (_instance, request, token) => {
      const response = await app.fetch("/graphql", {
        method: "POST",
        headers: { "content-type": "application/json", accept: "application/graphql-response+json", authorization: `Bearer ${token}` },
        body: JSON.stringify(request),
      });
      return { status: response.status, body: await response.json() };
    };
    // Few invitees for the number of clients, so that most scenarios land on the same invitations.
    const population = await createPopulation(send, {
      secret: TEST_SECRET,
      runId: runId(),
      organizations: 2,
      adminsPerOrganization: 1,
      invitees: 12,
      instances: 1,
    });
    // A fixed amount of work rather than a duration, so that a slow machine still gets past the first creates.
    const tally = await runClients(send, population, { clients: 16, scenariosPerClient: 6, instances: 1 });
    const summary = tallyRows(tally);

    // The run did what it is for: invitations were created and answered, some concurrently.
    const outcomes = (operation: string) => new Map(summary.find((r) => r.operation === operation)?.outcomes);
    expect(outcomes("createInvitation").get("OK") ?? 0, JSON.stringify(summary)).toBeGreaterThan(5);
    const accepted = (outcomes("acceptInvitation(id)").get("OK") ?? 0) + (outcomes("acceptInvitation(token)").get("OK") ?? 0);
    expect(accepted, JSON.stringify(summary)).toBeGreaterThan(0);

    expect(tally.internalSamples).toEqual([]);
    expect(tally.networkSamples).toEqual([]);
    expect(tally.unexpectedSamples).toEqual([]);
    expect(tally.doubleAnswers).toBe(0);
    expect(tally.staleTokenAnswers).toBe(0);
    expect(await answersWithReplacedTokens(session, tally)).toEqual([]);

    const organizationIds = population.organizations.map((o) => rawId(o.id));
    const results = await checkInvariants(session, { organizationIds });
    expect(results.length).toBeGreaterThan(0);
    for (const result of results) expect({ name: result.name, sample: result.sample }).toEqual({ name: result.name, sample: [] });
  }, 120_000); // about 100 requests, some of them waiting on each other's locks: seconds on a quiet machine, far more on a loaded one
});

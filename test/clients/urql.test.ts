/**
 * urql's core client against the real server on a real port: a query, a mutation, an error whose
 * extensions.code the client can switch on, and a subscription over SSE (`fetchSubscriptions: true`).
 */
import { cacheExchange, Client, fetchExchange, gql } from "@urql/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { SubscriptionHub } from "../../src/subscriptions/hub.js";
import type { TestApp, TestUser } from "../helpers/app.js";
import { createOrg, invite } from "../helpers/fixtures.js";
import { startLiveApp, type LiveApp, type Listening } from "../helpers/http.js";

let app: TestApp;
let hub: SubscriptionHub;
let http: Listening;
let live: LiveApp | undefined;
beforeAll(async () => {
  live = await startLiveApp({ maxPerUser: 10, maxPerAddress: 100 });
  ({ app, hub, http } = live);
});
afterAll(() => live?.close());

function urqlFor(user: TestUser | null): Client {
  return new Client({
    url: http.url,
    exchanges: [cacheExchange, fetchExchange],
    // Subscriptions go through fetchExchange too, as Server-Sent Events on the same endpoint.
    fetchSubscriptions: true,
    fetchOptions: (): RequestInit => (user ? { headers: { authorization: `Bearer ${user.token}` } } : {}),
  });
}

const PENDING = gql`
  query Pending {
    pendingInvitations(first: 10) {
      totalCount
      edges { node { id status organization { name } invitedBy { name } } }
    }
  }
`;

const DECLINE = gql`
  mutation Decline($input: DeclineInvitationInput!) {
    declineInvitation(input: $input) { invitation { id status declinedAt } }
  }
`;

describe("urql", () => {
  it("runs a query and a mutation", async () => {
    const owner = await app.user({ name: "Owner Olga" });
    const invitee = await app.user({ name: "Invitee" });
    const org = await createOrg(app, owner);
    const invitation = await invite(app, owner, org.id, invitee.email);
    const client = urqlFor(invitee);

    const pending = await client.query(PENDING, {}).toPromise();
    expect(pending.error).toBeUndefined();
    expect(pending.data.pendingInvitations).toMatchObject({
      totalCount: 1,
      edges: [
        {
          __typename: "InvitationEdge",
          node: expect.objectContaining({ id: invitation.id, status: "PENDING", organization: expect.objectContaining({ name: org.name }), invitedBy: expect.objectContaining({ name: "Owner Olga" }) }),
        },
      ],
    });

    const declined = await client.mutation(DECLINE, { input: { invitationId: invitation.id } }).toPromise();
    expect(declined.error).toBeUndefined();
    expect(declined.data.declineInvitation.invitation).toMatchObject({ id: invitation.id, status: "DECLINED", declinedAt: expect.any(String) });

    // urql's document cache drops results of queries that mention a type a mutation returned (Invitation), so the
    // same query goes to the network and shows the list without the declined invitation.
    const after = await client.query(PENDING, {}).toPromise();
    expect(after.data.pendingInvitations.totalCount).toBe(0);
  });

  it("reports errors with extensions.code and reason", async () => {
    const owner = await app.user({ name: "Owner" });
    const stranger = await app.user({ name: "Stranger" });
    const org = await createOrg(app, owner);
    const invitation = await invite(app, owner, org.id, (await app.user()).email);

    const forbidden = await urqlFor(stranger).mutation(DECLINE, { input: { invitationId: invitation.id } }).toPromise();
    expect(forbidden.data?.declineInvitation ?? null).toBeNull();
    expect(forbidden.error?.graphQLErrors[0]?.extensions).toMatchObject({ code: "NOT_FOUND" });

    const invalid = await urqlFor(owner)
      .mutation(gql`mutation Bad($input: CreateInvitationInput!) { createInvitation(input: $input) { invitation { id } } }`, {
        input: { organizationId: org.id, email: "not an email" },
      })
      .toPromise();
    expect(invalid.error?.graphQLErrors[0]?.extensions).toMatchObject({ code: "BAD_USER_INPUT", field: "email" });

    // A request error before execution (a document invalid against the schema) arrives with its code too, even
    // though the server answers it with HTTP 400.
    const unknownField = await urqlFor(owner).query(gql`query Nope { viewer { shoeSize } }`, {}).toPromise();
    expect(unknownField.error?.graphQLErrors[0]?.extensions).toMatchObject({ code: "GRAPHQL_VALIDATION_FAILED" });
  });

  it("receives subscription events over SSE with fetchSubscriptions", async () => {
    const owner = await app.user({ name: "Owner" });
    const org = await createOrg(app, owner);
    const received: Array<{ data?: any; error?: unknown }> = [];
    let wake: () => void = () => {};
    const { unsubscribe } = urqlFor(owner)
      .subscription(
        gql`subscription Events($organizationId: ID!) { invitationEvents(organizationId: $organizationId) { type invitation { id email status } } }`,
        { organizationId: org.id },
      )
      .subscribe((result) => {
        received.push({ data: result.data, error: result.error });
        wake();
      });
    const until = async (condition: () => boolean, what: string) => {
      for (let i = 0; i < 1000 && !condition(); i += 1) await new Promise<void>((resolve) => ((wake = resolve), setTimeout(resolve, 20)));
      if (!condition()) throw new Error(`timed out waiting for ${what}`);
    };
    await until(() => hub.openCount() === 1, "the subscription to open");

    const email = (await app.user()).email;
    const invitation = await invite(app, owner, org.id, email);
    await until(() => received.length === 1, "the CREATED event");
    expect(received[0]!.error).toBeUndefined();
    expect(received[0]!.data.invitationEvents).toMatchObject({ type: "CREATED", invitation: { id: invitation.id, email, status: "PENDING" } });

    unsubscribe();
    await until(() => hub.openCount() === 0, "the server to close the stream");
  });
});

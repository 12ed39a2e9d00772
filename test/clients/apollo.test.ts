/**
 * Apollo Client (its core entry, no React) against the real server on a real port: the normalized cache picks up a
 * mutation's result by the objects' global IDs, errors reach the client with their codes, and subscriptions arrive
 * over SSE through a link made of graphql-sse's client (the README shows the same link).
 */
import { ApolloClient, ApolloLink, CombinedGraphQLErrors, HttpLink, InMemoryCache, gql, type TypedDocumentNode } from "@apollo/client";
import { OperationTypeNode, print } from "graphql";
import { createClient, type Client as SseClient, type ClientOptions } from "graphql-sse";
import { Observable } from "rxjs";
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

/** An Apollo client signed in as `user`, counting the requests it sends so that tests can prove a read hit no network. */
function apolloFor(user: TestUser | null) {
  let requests = 0;
  const client = new ApolloClient({
    cache: new InMemoryCache(),
    link: new HttpLink({
      uri: http.url,
      headers: user ? { authorization: `Bearer ${user.token}` } : {},
      fetch: (input, init) => {
        requests += 1;
        return fetch(input, init);
      },
    }),
  });
  return { client, requests: () => requests };
}

type Node = { id: string; status: string; __typename?: string };
const PENDING: TypedDocumentNode<{ pendingInvitations: { edges: Array<{ node: Node }> } }> = gql`
  query Pending {
    pendingInvitations(first: 10) {
      edges { node { id status organization { id name } role { id key } } }
    }
  }
`;

const ACCEPT: TypedDocumentNode<{ acceptInvitation: { invitation: Node } }> = gql`
  mutation Accept($input: AcceptInvitationInput!) {
    acceptInvitation(input: $input) {
      invitation { id status acceptedAt }
      membership { id role { key } }
    }
  }
`;

describe("Apollo Client", () => {
  it("updates the cached invitation after acceptInvitation without refetching, by its global ID", async () => {
    const owner = await app.user({ name: "Owner" });
    const invitee = await app.user({ name: "Invitee" });
    const org = await createOrg(app, owner);
    const invitation = await invite(app, owner, org.id, invitee.email);
    const { client, requests } = apolloFor(invitee);

    const first = await client.query({ query: PENDING });
    const listed = first.data!.pendingInvitations.edges.map((e) => e.node);
    expect(listed).toEqual([expect.objectContaining({ id: invitation.id, status: "PENDING", __typename: "Invitation" })]);
    expect(client.cache.identify({ __typename: "Invitation", id: invitation.id })).toBe(`Invitation:${invitation.id}`);

    const accepted = await client.mutate({ mutation: ACCEPT, variables: { input: { invitationId: invitation.id } } });
    expect(accepted.data!.acceptInvitation.invitation.status).toBe("ACCEPTED");
    const sent = requests();
    expect(sent).toBe(2);

    // The list query was not refetched, yet reading it from the cache alone shows the new status: the mutation's
    // payload was merged into the same normalized Invitation entry the list points to.
    const cached = await client.query({ query: PENDING, fetchPolicy: "cache-only" });
    expect(cached.data!.pendingInvitations.edges[0]!.node).toMatchObject({ id: invitation.id, status: "ACCEPTED" });
    expect(client.readFragment({ id: `Invitation:${invitation.id}`, fragment: gql`fragment S on Invitation { status acceptedAt }` }))
      .toMatchObject({ status: "ACCEPTED", acceptedAt: expect.any(String) });
    expect(requests()).toBe(sent);

    // The server agrees: a network read no longer lists it as pending.
    const fresh = await client.query({ query: PENDING, fetchPolicy: "network-only" });
    expect(fresh.data!.pendingInvitations.edges).toEqual([]);
  });

  it("surfaces the error code and reason of a refused mutation", async () => {
    const owner = await app.user({ name: "Owner" });
    const invitee = await app.user({ name: "Invitee" });
    const org = await createOrg(app, owner);
    const invitation = await invite(app, owner, org.id, invitee.email);
    const { client } = apolloFor(invitee);
    await client.mutate({ mutation: ACCEPT, variables: { input: { invitationId: invitation.id } } });

    const again = await client.mutate({ mutation: ACCEPT, variables: { input: { invitationId: invitation.id } } }).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(CombinedGraphQLErrors.is(again)).toBe(true);
    expect((again as CombinedGraphQLErrors).errors[0]!.extensions).toMatchObject({ code: "CONFLICT", reason: "INVITATION_NOT_PENDING" });

    // With errorPolicy "all" the error comes back beside the (null) data instead of being thrown.
    const all = await client.mutate({ mutation: ACCEPT, variables: { input: { invitationId: invitation.id } }, errorPolicy: "all" });
    expect(CombinedGraphQLErrors.is(all.error)).toBe(true);
    expect((all.error as CombinedGraphQLErrors).errors[0]!.extensions?.code).toBe("CONFLICT");
  });

  it("surfaces UNAUTHENTICATED for a signed-out viewer query", async () => {
    const { client } = apolloFor(null);
    const error = await client.query({ query: gql`query Me { viewer { id } }` }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(CombinedGraphQLErrors.is(error)).toBe(true);
    expect((error as CombinedGraphQLErrors).errors[0]!.extensions?.code).toBe("UNAUTHENTICATED");
  });

  it("receives subscription events over SSE through a graphql-sse link", async () => {
    const owner = await app.user({ name: "Owner" });
    const org = await createOrg(app, owner);
    const headers = { authorization: `Bearer ${owner.token}` };
    const sse = new SSELink({ url: http.url, headers, retryAttempts: 0 });
    const client = new ApolloClient({
      cache: new InMemoryCache(),
      link: ApolloLink.split((op) => op.operationType === OperationTypeNode.SUBSCRIPTION, sse, new HttpLink({ uri: http.url, headers })),
    });
    const events: Array<{ type: string; invitation: { id: string; status: string } }> = [];
    let wake: () => void = () => {};
    const subscription = client
      .subscribe({
        query: gql`subscription Events($organizationId: ID!) { invitationEvents(organizationId: $organizationId) { type invitation { id status } } }`,
        variables: { organizationId: org.id },
      })
      .subscribe((result) => {
        if (result.data) events.push((result.data as { invitationEvents: never }).invitationEvents);
        wake();
      });
    const until = async (condition: () => boolean, what: string) => {
      for (let i = 0; i < 1000 && !condition(); i += 1) await new Promise<void>((resolve) => ((wake = resolve), setTimeout(resolve, 20)));
      if (!condition()) throw new Error(`timed out waiting for ${what}`);
    };
    const email = (await app.user()).email;
    await until(() => hub.openCount() === 1, "the server to hold the stream");
    const invitation = await invite(app, owner, org.id, email);
    await until(() => events.length === 1, "the CREATED event");
    expect(events[0]).toMatchObject({ type: "CREATED", invitation: { id: invitation.id, status: "PENDING" } });
    // The event's invitation went into the normalized cache like any query result.
    expect(client.readFragment({ id: `Invitation:${invitation.id}`, fragment: gql`fragment E on Invitation { status }` })).toMatchObject({ status: "PENDING" });
    subscription.unsubscribe();
    await until(() => hub.openCount() === 0, "the server to close the stream");
    sse.dispose();
  });
});

/** graphql-sse's client as an Apollo link (the pattern graphql-sse documents for Apollo Client). */
class SSELink extends ApolloLink {
  private readonly client: SseClient;
  constructor(options: ClientOptions) {
    super();
    this.client = createClient(options);
  }
  override request(operation: ApolloLink.Operation): Observable<ApolloLink.Result> {
    return new Observable((sink) =>
      this.client.subscribe<ApolloLink.Result["data"]>(
        { query: print(operation.query), variables: operation.variables, operationName: operation.operationName },
        { next: (value) => sink.next(value as ApolloLink.Result), complete: () => sink.complete(), error: (error) => sink.error(error) },
      ),
    );
  }
  dispose(): void {
    this.client.dispose();
  }
}

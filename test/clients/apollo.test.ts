/**
 * Apollo Client (its core entry, no React) against the real server on a real port: the normalized cache picks up a
 * mutation's result by the objects' global IDs, and errors reach the client with their codes.
 */
import { ApolloClient, CombinedGraphQLErrors, HttpLink, InMemoryCache, gql, type TypedDocumentNode } from "@apollo/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startApp, type TestApp, type TestUser } from "../helpers/app.js";
import { createOrg, invite } from "../helpers/fixtures.js";
import { listen, type Listening } from "../helpers/http.js";

let app: TestApp;
let http: Listening;
beforeAll(async () => {
  app = await startApp();
  http = await listen(app.server);
});
afterAll(async () => {
  await http?.close();
  await app?.close();
});

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
});

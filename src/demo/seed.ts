/**
 * Demo data to explore (`npm run seed`): three organizations, four people, and invitations in every state, made
 * through the GraphQL API in-process (server.fetch, no port), so the seed follows every rule the API enforces and
 * keeps working whatever the tables look like. Signing in needs no secret: the seed's own server trusts its demo
 * users by name, so it also runs against a database whose real server verifies tokens with JWKS.
 *
 * Idempotent per organization: one that its owner already has (by slug) is left alone, so running the seed again
 * changes nothing, and a run that stopped half-way completes on the next.
 */
import type { Claims } from "../auth/token.js";
import type { Logger } from "../logger.js";
import { createServer, type ServerOptions } from "../server.js";
import { DEMO_USERS, type DemoUser } from "./users.js";

type Who = keyof typeof DEMO_USERS;

interface DemoInvitation {
  email: string;
  role: "admin" | "member";
  groups?: string[];
  metadata?: Record<string, unknown>;
  /** What happens next; pending when absent. */
  then?: { answer: "accept" | "decline"; by: Who } | { revokedBy: Who };
}

interface DemoOrganization {
  slug: string;
  name: string;
  owner: Who;
  groups: string[];
  invitations: DemoInvitation[];
}

export const DEMO_ORGANIZATIONS: DemoOrganization[] = [
  {
    slug: "demo-analytical-engines",
    name: "Analytical Engines",
    owner: "ada",
    groups: ["Research", "Operations"],
    invitations: [
      { email: DEMO_USERS.grace.email, role: "admin", groups: ["Research"], then: { answer: "accept", by: "grace" } },
      { email: DEMO_USERS.margaret.email, role: "member", groups: ["Operations"], metadata: { source: "seed", team: "operations" } },
      { email: "alan@example.com", role: "member", metadata: { source: "seed" } },
      { email: "charles@example.com", role: "member", then: { revokedBy: "ada" } },
    ],
  },
  {
    slug: "demo-compilers",
    name: "Compilers Inc",
    owner: "grace",
    groups: ["Languages"],
    invitations: [
      { email: DEMO_USERS.ada.email, role: "admin", groups: ["Languages"], metadata: { note: "Come and help with COBOL" } },
      { email: DEMO_USERS.linus.email, role: "member", then: { answer: "accept", by: "linus" } },
    ],
  },
  {
    slug: "demo-kernel-hackers",
    name: "Kernel Hackers",
    owner: "linus",
    groups: [],
    invitations: [
      { email: DEMO_USERS.ada.email, role: "member" },
      { email: DEMO_USERS.margaret.email, role: "admin", then: { answer: "decline", by: "margaret" } },
    ],
  },
];

export interface SeedResult {
  created: string[];
  alreadyThere: string[];
}

/** Seeds the open database (see src/db/client.ts). */
export async function seedDemo(options: { config: ServerOptions["config"]; logger: Logger }): Promise<SeedResult> {
  const users = DEMO_USERS as Record<string, DemoUser>;
  const server = createServer({
    config: options.config,
    logger: options.logger,
    isReady: () => true,
    // The "token" is the demo user's key; only this in-process server, which no socket reaches, accepts it.
    verifyToken: async (who): Promise<Claims> => {
      const user = users[who];
      if (!user) throw new Error(`not a demo user: ${who}`);
      return { sub: user.sub, email: user.email, name: user.name, emailVerified: true };
    },
  });

  const call = async <T = any>(who: Who, query: string, variables: Record<string, unknown> = {}): Promise<T> => {
    const response = await server.fetch("http://seed.invalid/graphql", {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${who}` },
      body: JSON.stringify({ query, variables }),
    });
    const result = (await response.json()) as { data?: T; errors?: Array<{ message: string; extensions?: { code?: string; reason?: string } }> };
    if (result.errors?.length) {
      const e = result.errors[0]!;
      throw new Error(`seed: ${e.extensions?.code ?? "ERROR"}${e.extensions?.reason ? `/${e.extensions.reason}` : ""}: ${e.message}`);
    }
    return result.data as T;
  };

  const result: SeedResult = { created: [], alreadyThere: [] };
  for (const org of DEMO_ORGANIZATIONS) {
    const owned = await call<{ viewer: { memberships: { edges: Array<{ node: { organization: { slug: string } } }> } } }>(
      org.owner,
      /* GraphQL */ `{ viewer { memberships(first: 100) { edges { node { organization { slug } } } } } }`,
    );
    if (owned.viewer.memberships.edges.some((edge) => edge.node.organization.slug === org.slug)) {
      result.alreadyThere.push(org.slug);
      continue;
    }
    await seedOrganization(org, call);
    result.created.push(org.slug);
  }
  return result;
}

type Call = <T = any>(who: Who, query: string, variables?: Record<string, unknown>) => Promise<T>;

async function seedOrganization(org: DemoOrganization, call: Call): Promise<void> {
  const { createOrganization } = await call(
    org.owner,
    /* GraphQL */ `mutation ($input: CreateOrganizationInput!) { createOrganization(input: $input) { organization { id roles { id key } } } }`,
    { input: { name: org.name, slug: org.slug } },
  );
  const organizationId: string = createOrganization.organization.id;
  const roles = new Map<string, string>(createOrganization.organization.roles.map((r: { key: string; id: string }) => [r.key, r.id]));
  const groups = new Map<string, string>();
  for (const name of org.groups) {
    const { createGroup } = await call(
      org.owner,
      /* GraphQL */ `mutation ($input: CreateGroupInput!) { createGroup(input: $input) { group { id } } }`,
      { input: { organizationId, name } },
    );
    groups.set(name, createGroup.group.id);
  }
  for (const invitation of org.invitations) {
    const { createInvitation } = await call(
      org.owner,
      /* GraphQL */ `mutation ($input: CreateInvitationInput!) { createInvitation(input: $input) { invitation { id } } }`,
      {
        input: {
          organizationId,
          email: invitation.email,
          roleId: roles.get(invitation.role),
          groupIds: (invitation.groups ?? []).map((name) => groups.get(name)),
          metadata: invitation.metadata,
        },
      },
    );
    const invitationId: string = createInvitation.invitation.id;
    const next = invitation.then;
    if (!next) continue;
    if ("revokedBy" in next) {
      await call(next.revokedBy, /* GraphQL */ `mutation ($id: ID!) { revokeInvitation(input: { invitationId: $id }) { invitation { id } } }`, { id: invitationId });
    } else {
      const field = next.answer === "accept" ? "acceptInvitation" : "declineInvitation";
      await call(next.by, /* GraphQL */ `mutation ($id: ID!) { ${field}(input: { invitationId: $id }) { invitation { id } } }`, { id: invitationId });
    }
  }
}

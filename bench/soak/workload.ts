/**
 * The soak's population and clients, apart from how requests travel: `npm run soak` sends them over HTTP to several
 * server processes, test/postgres/soak.test.ts through `server.fetch`. Clients race on purpose (concurrent accepts of
 * one invitation, a resend racing an accept by the old token, an invite of an address that is joining, a decline or
 * revoke racing an accept) and tally every answer by operation and outcome, with the answers no client should ever
 * see counted apart.
 */
import { createHash, randomBytes } from "node:crypto";
import { signDevToken } from "../../src/auth/token.js";
import type { SqlSession } from "../../src/db/client.js";

/** One GraphQL request to instance `instance` (modulo the number of instances). Rejects only on network failure. */
export type Send = (
  instance: number,
  request: { query: string; variables?: Record<string, unknown> },
  token: string,
) => Promise<{ status: number; body: GraphQLBody }>;

export interface GraphQLBody {
  data?: any;
  errors?: Array<{ message: string; path?: unknown[]; extensions?: Record<string, any> }>;
}

export interface Actor {
  email: string;
  token: string;
}

export interface SoakOrganization {
  id: string;
  roles: Record<"owner" | "admin" | "member", string>;
  groups: string[];
  /** The owner and the admins, who create, resend, revoke and delete. */
  admins: Actor[];
}

export interface Population {
  organizations: SoakOrganization[];
  invitees: Actor[];
}

export interface PopulationOptions {
  secret: string;
  /** Makes subs, emails, names and slugs unique to this run. */
  runId: string;
  organizations: number;
  adminsPerOrganization: number;
  invitees: number;
  instances: number;
}

/** Fails on any error: set-up must succeed for the run to mean anything. */
async function must(send: Send, instance: number, query: string, variables: Record<string, unknown>, token: string): Promise<any> {
  const { status, body } = await send(instance, { query, variables }, token);
  if (status !== 200 || body.errors?.length) throw new Error(`set-up request failed (${status}): ${JSON.stringify(body.errors ?? body)}`);
  return body.data;
}

/**
 * Organizations (each with an owner, admins who joined by invitation, and three groups) and a pool of invitees whose
 * addresses every organization invites, so that the same person is invited by several organizations at once.
 */
export async function createPopulation(send: Send, options: PopulationOptions): Promise<Population> {
  const actor = async (kind: string, n: number): Promise<Actor> => {
    const email = `${kind}-${n}-${options.runId}@soak.test`;
    const token = await signDevToken(options.secret, { sub: `soak|${options.runId}|${kind}-${n}`, email, name: `${kind} ${n}` }, { expiresIn: "2h" });
    return { email, token };
  };
  const organizations = await Promise.all(
    Array.from({ length: options.organizations }, async (_, o) => {
      const owner = await actor(`owner${o}`, 0);
      const created = await must(
        send,
        o,
        /* GraphQL */ `mutation ($input: CreateOrganizationInput!) { createOrganization(input: $input) { organization { id roles { id key } } } }`,
        { input: { name: `Soak ${options.runId} ${o}` } },
        owner.token,
      );
      const organization = created.createOrganization.organization;
      const roles = Object.fromEntries(organization.roles.map((r: { key: string; id: string }) => [r.key, r.id])) as SoakOrganization["roles"];
      const groups: string[] = [];
      for (const name of ["engineering", "sales", "support"]) {
        const group = await must(
          send,
          o,
          /* GraphQL */ `mutation ($input: CreateGroupInput!) { createGroup(input: $input) { group { id } } }`,
          { input: { organizationId: organization.id, name } },
          owner.token,
        );
        groups.push(group.createGroup.group.id);
      }
      const admins = [owner];
      for (let a = 1; a <= options.adminsPerOrganization; a += 1) {
        const admin = await actor(`admin${o}`, a);
        const invited = await must(send, o, CREATE, { input: { organizationId: organization.id, email: admin.email, roleId: roles.admin } }, owner.token);
        await must(send, o + 1, ACCEPT_BY_ID, { input: { invitationId: invited.createInvitation.invitation.id } }, admin.token);
        admins.push(admin);
      }
      return { id: organization.id, roles, groups, admins };
    }),
  );
  const invitees = await Promise.all(Array.from({ length: options.invitees }, (_, n) => actor("invitee", n)));
  return { organizations, invitees };
}

// ---- Operations ------------------------------------------------------------------------------------------------

const INVITATION_FIELDS = /* GraphQL */ `id email status expiresAt role { key } groups { id }`;
const CREATE = /* GraphQL */ `mutation ($input: CreateInvitationInput!) { createInvitation(input: $input) { token invitation { ${INVITATION_FIELDS} } } }`;
const RESEND = /* GraphQL */ `mutation ($input: ResendInvitationInput!) { resendInvitation(input: $input) { token invitation { id status expiresAt } } }`;
const REVOKE = /* GraphQL */ `mutation ($input: RevokeInvitationInput!) { revokeInvitation(input: $input) { invitation { id status revokedAt } } }`;
const DELETE = /* GraphQL */ `mutation ($input: DeleteInvitationInput!) { deleteInvitation(input: $input) { deletedInvitationId } }`;
const ACCEPT_BY_ID = /* GraphQL */ `mutation ($input: AcceptInvitationInput!) {
  acceptInvitation(input: $input) { invitation { id status acceptedAt } membership { id role { key } groups { id } } }
}`;
const DECLINE = /* GraphQL */ `mutation ($input: DeclineInvitationInput!) { declineInvitation(input: $input) { invitation { id status declinedAt } } }`;
const PENDING = /* GraphQL */ `{ pendingInvitations(first: 20) { totalCount edges { node { id status organization { id name memberCount } role { key } } } } }`;
const ORGANIZATION_INVITATIONS = /* GraphQL */ `query ($id: ID!, $status: [InvitationStatus!], $email: String) {
  organization(id: $id) { invitations(first: 20, status: $status, email: $email) { totalCount edges { node { ${INVITATION_FIELDS} } } } }
}`;
const ORGANIZATION_MEMBERS = /* GraphQL */ `query ($id: ID!) {
  organization(id: $id) { memberCount members(first: 20) { totalCount edges { node { id role { key } groups { id } user { id } } } } }
}`;
const INVITATION = /* GraphQL */ `query ($id: ID!) { invitation(id: $id) { ${INVITATION_FIELDS} invitedBy { id } } }`;

/** The outcomes each operation may have in a healthy run; anything else is reported as unexpected. */
const EXPECTED: Record<string, readonly string[]> = {
  createInvitation: ["OK", "CONFLICT/ALREADY_INVITED", "CONFLICT/ALREADY_MEMBER"],
  "createInvitation(expiring)": ["OK", "CONFLICT/ALREADY_INVITED", "CONFLICT/ALREADY_MEMBER", "BAD_USER_INPUT"],
  // A resend of an expired invitation whose address has a newer pending one is ALREADY_INVITED.
  resendInvitation: ["OK", "CONFLICT/INVITATION_NOT_PENDING", "CONFLICT/ALREADY_MEMBER", "CONFLICT/ALREADY_INVITED", "NOT_FOUND"],
  revokeInvitation: ["OK", "CONFLICT/INVITATION_NOT_PENDING", "NOT_FOUND"],
  deleteInvitation: ["OK", "NOT_FOUND"],
  "acceptInvitation(id)": ["OK", "CONFLICT/INVITATION_NOT_PENDING", "CONFLICT/INVITATION_EXPIRED", "CONFLICT/ALREADY_MEMBER", "NOT_FOUND"],
  "acceptInvitation(token)": ["OK", "CONFLICT/INVITATION_NOT_PENDING", "CONFLICT/INVITATION_EXPIRED", "CONFLICT/ALREADY_MEMBER", "NOT_FOUND"],
  "declineInvitation(id)": ["OK", "CONFLICT/INVITATION_NOT_PENDING", "CONFLICT/INVITATION_EXPIRED", "NOT_FOUND"],
  "declineInvitation(token)": ["OK", "CONFLICT/INVITATION_NOT_PENDING", "CONFLICT/INVITATION_EXPIRED", "NOT_FOUND"],
  pendingInvitations: ["OK"],
  "organization.invitations": ["OK"],
  "organization.members": ["OK"],
  "invitation(id)": ["OK", "NOT_FOUND"],
};

// ---- Tallies ---------------------------------------------------------------------------------------------------

export interface Sample {
  operation: string;
  status: number;
  error?: unknown;
}

export interface Tally {
  /** operation → outcome → count. Outcome: OK, CODE or CODE/REASON, HTTP <status>, NETWORK_ERROR or TIMEOUT. */
  byOperation: Map<string, Map<string, number>>;
  requests: number;
  /** INTERNAL_SERVER_ERROR anywhere in a response, or an HTTP 5xx other than 503. */
  internalErrors: number;
  internalSamples: Sample[];
  /** SERVICE_UNAVAILABLE (overload or the database out of reach): allowed, but reported. */
  unavailable: number;
  /** No answer: the connection was refused or reset. */
  networkErrors: number;
  /** No answer within the client's timeout. */
  timeouts: number;
  networkSamples: string[];
  /** Outcomes outside EXPECTED (other than the two above). */
  unexpected: number;
  unexpectedSamples: Sample[];
  /** List reads whose totalCount was below the number of edges on the same page. */
  totalCountBelowEdges: number;
  totalCountSamples: Array<{ operation: string; totalCount: number; edges: number }>;
  listReads: number;
  /** Answers by token that succeeded with a token a completed resend had replaced before the answer was sent. */
  staleTokenAnswers: number;
  /** Invitations that more than one accept or decline answered successfully. */
  doubleAnswers: number;
  /** Successful answers by token, checked after the run against the stored token hash. */
  tokenAnswers: Array<{ invitationId: string; tokenHash: string }>;
}

export function newTally(): Tally {
  return {
    byOperation: new Map(),
    requests: 0,
    internalErrors: 0,
    internalSamples: [],
    unavailable: 0,
    networkErrors: 0,
    timeouts: 0,
    networkSamples: [],
    unexpected: 0,
    unexpectedSamples: [],
    totalCountBelowEdges: 0,
    totalCountSamples: [],
    listReads: 0,
    staleTokenAnswers: 0,
    doubleAnswers: 0,
    tokenAnswers: [],
  };
}

function outcomeOf(status: number, body: GraphQLBody): string {
  const error = body.errors?.[0];
  if (!error) return status === 200 ? "OK" : `HTTP ${status}`;
  const { code, reason } = error.extensions ?? {};
  if (!code) return `HTTP ${status}`;
  return reason ? `${code}/${reason}` : String(code);
}

const SAMPLES = 10;

// ---- Clients ---------------------------------------------------------------------------------------------------

/** An invitation a client created, as far as the clients know. */
interface Known {
  id: string;
  organization: number;
  invitee: number;
  /** The newest token the clients hold. */
  token: string;
  /** Tokens a completed resend replaced (so any answer sent with one afterwards must fail). */
  superseded: Set<string>;
  /** Resends are not run concurrently on one invitation, so that "replaced" is certain when a resend returns. */
  resending: boolean;
  /** Believed pending (cleared once a client saw it answered, revoked or deleted). */
  open: boolean;
  answered: number;
}

export interface SoakOptions {
  clients: number;
  /** Epoch ms: no client starts a new scenario after it. */
  deadline?: number;
  /** How many scenarios each client runs at most (a fixed amount of work, whatever the machine's speed). */
  scenariosPerClient?: number;
  instances: number;
}

/**
 * Runs `clients` loops until the deadline (or the number of scenarios), each repeatedly picking a scenario at random;
 * resolves when every loop has finished its last scenario.
 */
export async function runClients(send: Send, population: Population, options: SoakOptions, tally = newTally()): Promise<Tally> {
  const known: Known[] = [];
  const open: Known[] = [];
  const pick = <T>(items: readonly T[]): T => items[Math.floor(Math.random() * items.length)]!;
  const chance = (p: number) => Math.random() < p;
  const someInstance = () => Math.floor(Math.random() * options.instances);

  /** Sends, tallies, and returns the body (undefined on a network failure). */
  const call = async (
    operation: string,
    instance: number,
    query: string,
    variables: Record<string, unknown>,
    token: string,
  ): Promise<{ ok: boolean; body?: GraphQLBody }> => {
    tally.requests += 1;
    let status: number;
    let body: GraphQLBody;
    try {
      ({ status, body } = await send(instance % options.instances, { query, variables }, token));
    } catch (error) {
      // The client gave up waiting (an overloaded machine), or the connection failed (an instance died or reset it).
      const timedOut = (e: unknown) => (e as Error | undefined)?.name === "TimeoutError";
      if (timedOut(error) || timedOut((error as Error | undefined)?.cause)) {
        count(operation, "TIMEOUT");
        tally.timeouts += 1;
      } else {
        count(operation, "NETWORK_ERROR");
        tally.networkErrors += 1;
        if (tally.networkSamples.length < SAMPLES) tally.networkSamples.push(`${operation}: ${String(error)} ${String((error as Error).cause ?? "")}`);
      }
      return { ok: false };
    }
    const outcome = outcomeOf(status, body);
    count(operation, outcome);
    const codes = (body.errors ?? []).map((e) => e.extensions?.code);
    if (codes.includes("INTERNAL_SERVER_ERROR") || (status >= 500 && status !== 503)) {
      tally.internalErrors += 1;
      if (tally.internalSamples.length < SAMPLES) tally.internalSamples.push({ operation, status, error: body.errors?.[0] ?? body });
    } else if (codes.includes("SERVICE_UNAVAILABLE") || status === 503) {
      tally.unavailable += 1;
      // As a well-behaved client does: wait as long as the server asks (bounded) before the next request.
      const retryAfterMs = Number(body.errors?.find((e) => e.extensions?.code === "SERVICE_UNAVAILABLE")?.extensions?.retryAfterMs ?? 1_000);
      await new Promise((resolve) => setTimeout(resolve, Math.min(Number.isFinite(retryAfterMs) ? retryAfterMs : 1_000, 5_000)));
    } else if (!EXPECTED[operation]?.includes(outcome) || (outcome === "OK" && codes.length > 0)) {
      tally.unexpected += 1;
      if (tally.unexpectedSamples.length < SAMPLES) tally.unexpectedSamples.push({ operation, status, error: body.errors?.[0] ?? body });
    }
    return { ok: outcome === "OK", body };
  };

  const count = (operation: string, outcome: string) => {
    const outcomes = tally.byOperation.get(operation) ?? new Map<string, number>();
    outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
    tally.byOperation.set(operation, outcomes);
  };

  const checkList = (operation: string, connection: { totalCount: number; edges: unknown[] } | undefined) => {
    if (!connection) return;
    tally.listReads += 1;
    if (connection.totalCount < connection.edges.length) {
      tally.totalCountBelowEdges += 1;
      if (tally.totalCountSamples.length < SAMPLES) {
        tally.totalCountSamples.push({ operation, totalCount: connection.totalCount, edges: connection.edges.length });
      }
    }
  };

  /** A believed-pending invitation, or undefined when the clients know none. */
  const openInvitation = (): Known | undefined => {
    while (open.length > 0) {
      const index = Math.floor(Math.random() * open.length);
      const candidate = open[index]!;
      if (candidate.open) return candidate;
      open[index] = open[open.length - 1]!;
      open.pop();
    }
    return undefined;
  };

  const close = (invitation: Known) => {
    invitation.open = false;
  };

  const adminOf = (organization: number) => pick(population.organizations[organization]!.admins);

  // ---- Scenarios: each a few requests, some of them concurrent, spread over the instances.

  const create = async (organization = Math.floor(Math.random() * population.organizations.length), invitee = Math.floor(Math.random() * population.invitees.length)) => {
    const org = population.organizations[organization]!;
    const email = population.invitees[invitee]!.email;
    const input: Record<string, unknown> = {
      organizationId: org.id,
      // Addresses are normalised: a client may send any case and surrounding spaces.
      email: chance(0.1) ? ` ${email.toUpperCase()} ` : email,
      roleId: chance(0.3) ? org.roles.admin : org.roles.member,
      groupIds: org.groups.filter(() => chance(0.4)),
      metadata: { source: "soak", n: Math.floor(Math.random() * 1000) },
    };
    // Some expire during the run, so that expired answers, resends of expired invitations and new invitations that
    // replace an expired one happen too. Under load a request can arrive after such an expiry: BAD_USER_INPUT then.
    const expiring = chance(0.1);
    if (expiring) input.expiresAt = new Date(Date.now() + 5_000 + Math.random() * 20_000).toISOString();
    const operation = expiring ? "createInvitation(expiring)" : "createInvitation";
    const result = await call(operation, someInstance(), CREATE, { input }, adminOf(organization).token);
    const payload = result.body?.data?.createInvitation;
    if (result.ok && payload) {
      const invitation: Known = {
        id: payload.invitation.id,
        organization,
        invitee,
        token: payload.token,
        superseded: new Set(),
        resending: false,
        open: true,
        answered: 0,
      };
      known.push(invitation);
      open.push(invitation);
    }
  };

  /** `token`: answer with this one instead of the newest (an older token, to see it refused). */
  const answer = async (kind: "accept" | "decline", invitation: Known, byToken: boolean, instance: number, token = invitation.token) => {
    const invitee = population.invitees[invitation.invitee]!;
    const stale = invitation.superseded.has(token);
    const operation = `${kind}Invitation(${byToken ? "token" : "id"})`;
    const input = byToken ? { token } : { invitationId: invitation.id };
    const result = await call(operation, instance, kind === "accept" ? ACCEPT_BY_ID : DECLINE, { input }, invitee.token);
    if (!result.ok) return;
    close(invitation);
    invitation.answered += 1;
    if (invitation.answered === 2) tally.doubleAnswers += 1;
    if (stale) tally.staleTokenAnswers += 1;
    if (byToken) tally.tokenAnswers.push({ invitationId: invitation.id, tokenHash: createHash("sha256").update(token).digest("hex") });
  };

  const resend = async (invitation: Known, instance: number) => {
    if (invitation.resending) return;
    invitation.resending = true;
    try {
      const result = await call("resendInvitation", instance, RESEND, { input: { invitationId: invitation.id } }, adminOf(invitation.organization).token);
      const token = result.body?.data?.resendInvitation?.token;
      if (result.ok && token) {
        invitation.superseded.add(invitation.token);
        invitation.token = token;
        invitation.open = true;
      }
    } finally {
      invitation.resending = false;
    }
  };

  const revoke = async (invitation: Known, instance: number) => {
    const result = await call("revokeInvitation", instance, REVOKE, { input: { invitationId: invitation.id } }, adminOf(invitation.organization).token);
    if (result.ok) close(invitation);
  };

  const remove = async (invitation: Known, instance: number) => {
    const result = await call("deleteInvitation", instance, DELETE, { input: { invitationId: invitation.id } }, adminOf(invitation.organization).token);
    if (result.ok) close(invitation);
  };

  const scenarios: Array<[weight: number, run: () => Promise<unknown>]> = [
    [22, () => create()],
    [
      // Concurrent accepts of one invitation, by ID and by token, on different instances.
      10,
      async () => {
        const invitation = openInvitation();
        if (!invitation) return create();
        const base = someInstance();
        const n = 1 + Math.floor(Math.random() * 3);
        // Now and then with a token a resend replaced, which must be refused.
        const old = invitation.superseded.size > 0 && chance(0.2) ? pick([...invitation.superseded]) : undefined;
        await Promise.all(Array.from({ length: n }, (_, k) => answer("accept", invitation, old !== undefined || chance(0.5), base + k, old)));
      },
    ],
    [
      // A resend racing an accept by the token it replaces.
      7,
      async () => {
        const invitation = openInvitation();
        if (!invitation) return create();
        const base = someInstance();
        const token = invitation.token;
        await Promise.all([resend(invitation, base), answer("accept", invitation, true, base + 1, token)]);
      },
    ],
    [
      // An invite of an address that is joining: an accept and a new invitation of the same address, together.
      7,
      async () => {
        const invitation = openInvitation();
        if (!invitation) return create();
        const base = someInstance();
        await Promise.all([answer("accept", invitation, chance(0.5), base), create(invitation.organization, invitation.invitee)]);
      },
    ],
    [
      // A decline, sometimes racing an accept.
      5,
      async () => {
        const invitation = openInvitation();
        if (!invitation) return create();
        const base = someInstance();
        await Promise.all([
          answer("decline", invitation, chance(0.5), base),
          ...(chance(0.5) ? [answer("accept", invitation, chance(0.5), base + 1)] : []),
        ]);
      },
    ],
    [
      // A revoke, sometimes racing an accept.
      5,
      async () => {
        const invitation = openInvitation();
        if (!invitation) return create();
        const base = someInstance();
        await Promise.all([revoke(invitation, base), ...(chance(0.5) ? [answer("accept", invitation, chance(0.5), base + 1)] : [])]);
      },
    ],
    [
      // A resend on its own (of any invitation the clients know: pending, expired, or answered already).
      4,
      async () => (known.length > 0 ? resend(pick(known), someInstance()) : create()),
    ],
    [
      // A delete, of any known invitation, sometimes racing an accept.
      3,
      async () => {
        if (known.length === 0) return create();
        const invitation = pick(known);
        const base = someInstance();
        await Promise.all([remove(invitation, base), ...(chance(0.3) ? [answer("accept", invitation, chance(0.5), base + 1)] : [])]);
      },
    ],
    [
      12,
      async () => {
        const result = await call("pendingInvitations", someInstance(), PENDING, {}, pick(population.invitees).token);
        checkList("pendingInvitations", result.body?.data?.pendingInvitations);
      },
    ],
    [
      14,
      async () => {
        const organization = Math.floor(Math.random() * population.organizations.length);
        const variables: Record<string, unknown> = { id: population.organizations[organization]!.id };
        if (chance(0.5)) variables.status = [pick(["PENDING", "ACCEPTED", "DECLINED", "REVOKED", "EXPIRED"])];
        if (chance(0.2)) variables.email = pick(population.invitees).email;
        const result = await call("organization.invitations", someInstance(), ORGANIZATION_INVITATIONS, variables, adminOf(organization).token);
        checkList("organization.invitations", result.body?.data?.organization?.invitations);
      },
    ],
    [
      4,
      async () => {
        const organization = Math.floor(Math.random() * population.organizations.length);
        const result = await call(
          "organization.members",
          someInstance(),
          ORGANIZATION_MEMBERS,
          { id: population.organizations[organization]!.id },
          adminOf(organization).token,
        );
        checkList("organization.members", result.body?.data?.organization?.members);
      },
    ],
    [
      5,
      async () => {
        if (known.length === 0) return create();
        const invitation = pick(known);
        // The invitee or an admin of its organization: both may read it.
        const reader = chance(0.5) ? population.invitees[invitation.invitee]! : adminOf(invitation.organization);
        await call("invitation(id)", someInstance(), INVITATION, { id: invitation.id }, reader.token);
      },
    ],
  ];
  const totalWeight = scenarios.reduce((sum, [weight]) => sum + weight, 0);
  const scenario = () => {
    let r = Math.random() * totalWeight;
    for (const [weight, run] of scenarios) {
      r -= weight;
      if (r < 0) return run;
    }
    return scenarios[0]![1];
  };

  const { deadline, scenariosPerClient } = options;
  if (deadline === undefined && scenariosPerClient === undefined) throw new Error("runClients needs a deadline or scenariosPerClient");
  await Promise.all(
    Array.from({ length: options.clients }, async () => {
      for (let n = 0; (deadline === undefined || Date.now() < deadline) && (scenariosPerClient === undefined || n < scenariosPerClient); n += 1) {
        await scenario()();
      }
    }),
  );
  return tally;
}

/** Outcome counts as rows: operation, total, and each outcome with its count, most frequent first. */
export function tallyRows(tally: Tally): Array<{ operation: string; total: number; outcomes: Array<[string, number]> }> {
  return [...tally.byOperation.entries()]
    .map(([operation, outcomes]) => ({
      operation,
      total: [...outcomes.values()].reduce((a, b) => a + b, 0),
      outcomes: [...outcomes.entries()].sort((a, b) => b[1] - a[1]),
    }))
    .sort((a, b) => b.total - a.total);
}

/** A short random id for names in one run. */
export function runId(): string {
  return `${Date.now().toString(36)}${randomBytes(2).toString("hex")}`;
}

/**
 * Answers by token that committed although a resend had replaced the token first: a resend only writes a pending
 * invitation, so a stored hash other than the answering token's means the resend committed before the answer did.
 */
export async function answersWithReplacedTokens(
  session: SqlSession,
  tally: Tally,
): Promise<Array<{ invitationId: string; usedHash: string; storedHash?: string }>> {
  if (tally.tokenAnswers.length === 0) return [];
  const ids = tally.tokenAnswers.map((a) => Buffer.from(a.invitationId, "base64url").toString("utf8").split(":")[1]!);
  const rows = await session.query<{ id: string; tokenHash: string }>(`SELECT "id", "tokenHash" FROM "Invitation" WHERE "id" = ANY($1::uuid[])`, [ids]);
  const stored = new Map(rows.map((r) => [r.id, r.tokenHash]));
  return tally.tokenAnswers
    .map((answer, i) => ({ invitationId: answer.invitationId, usedHash: answer.tokenHash, storedHash: stored.get(ids[i]!) }))
    .filter((answer) => answer.storedHash !== answer.usedHash);
}

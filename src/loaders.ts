/**
 * Per-request loaders: the viewer's access facts (loaded once, then every rule answers from memory) and
 * DataLoaders for what relation loading cannot batch (counts, look-ups by email, permission checks on other users).
 * Each returns results in key order.
 */
import DataLoader from "dataloader";
import type { GraphQLSchema } from "graphql";
import type { IMiddlewareFieldMap, IMiddlewareFunction } from "graphql-middleware";
import { now } from "./clock.js";
import type { Context } from "./context.js";
import type { Viewer } from "./auth/viewer.js";
import { jsonOf, prisma, readRows, timestampOf } from "./db/client.js";
import type { Group, Invitation, Role, User } from "./generated/prisma/client.js";

/** A membership with what the permission rules need of it: its organization and its role's key and permissions. */
export interface MembershipFacts {
  id: string;
  userId: string;
  organizationId: string;
  roleId: string;
  role: { key: string; permissions: string[] };
}

export interface OrganizationAccess {
  membershipId: string;
  roleId: string;
  permissions: ReadonlySet<string>;
}

export type Loaders = ReturnType<typeof createLoaders>;

/** A membership as ACCESS_SQL lists it: id, organization, role, and the role's permissions joined by commas. */
type MembershipEntry = [id: string, organizationId: string, roleId: string, permissions: string];

/**
 * The viewer's memberships ($1: the viewer's id) with their roles' permissions, as ONE row holding a JSON array of
 * MembershipEntry. One row, parsed by one JSON.parse, rather than a row per membership through the driver's row
 * parser; permissions joined by commas (permission names come from src/permissions/catalog.ts and hold none) rather
 * than an array. A member of 53 organizations (the benchmark's owner) otherwise had the driver parse 53 rows and 53
 * arrays, and the server build 53 sets, on every request, for the one or two organizations a request asks about
 * (MembershipAccess splits its list when first asked).
 */
const ACCESS_SQL = `SELECT coalesce(json_agg(json_build_array(m."id", m."organizationId", m."roleId", array_to_string(r."permissions", ','))), '[]'::json) AS "access"
  FROM "Membership" AS m JOIN "Role" AS r ON r."id" = m."roleId" WHERE m."userId" = $1::uuid`;

/** The member role (the default for invitations) of each organization in $1. */
const DEFAULT_ROLE_SQL = `SELECT "id"::text AS "id", "organizationId"::text AS "organizationId", "key", "name", "permissions", "createdAt"
  FROM "Role" WHERE "organizationId" = ANY($1::uuid[]) AND "key" = 'member'`;

/**
 * ACCESS_SQL's array, and beside it the member role of organization $2 as [id, key, name, permissions joined by
 * commas, createdAt in epoch milliseconds] (null when it has none).
 */
const ACCESS_AND_DEFAULT_ROLE_SQL = `SELECT (${ACCESS_SQL}) AS "access",
  (SELECT json_build_array(r."id", r."key", r."name", array_to_string(r."permissions", ','), round(date_part('epoch', r."createdAt") * 1000)::int8)
     FROM "Role" AS r WHERE r."organizationId" = $2::uuid AND r."key" = 'member') AS "role"`;

/** A comma-joined permission list as ACCESS_SQL returns it. */
function splitPermissions(text: string): string[] {
  return text === "" ? [] : text.split(",");
}

/** A membership's access, its permission set built when first read. */
class MembershipAccess implements OrganizationAccess {
  private set?: ReadonlySet<string>;
  constructor(
    readonly membershipId: string,
    readonly roleId: string,
    private readonly joined: string,
  ) {}
  get permissions(): ReadonlySet<string> {
    return (this.set ??= new Set(splitPermissions(this.joined)));
  }
}

function accessMap(entries: readonly MembershipEntry[]): Map<string, OrganizationAccess> {
  return new Map(entries.map(([id, organizationId, roleId, permissions]) => [organizationId, new MembershipAccess(id, roleId, permissions)]));
}

function once<T>(load: () => Promise<T>): () => Promise<T> {
  let promise: Promise<T> | undefined;
  return () => (promise ??= load());
}

function byKey<K, V>(keys: readonly K[], rows: V[], keyOf: (row: V) => K): (V | null)[] {
  const map = new Map<K, V>();
  for (const row of rows) map.set(keyOf(row), row);
  return keys.map((k) => map.get(k) ?? null);
}

/** Invitations a client may still see: not deleted. */
export const NOT_DELETED = { deletedAt: null } as const;

export function createLoaders(viewer: Viewer) {
  const viewerId = viewer.kind === "user" ? viewer.id : undefined;
  const viewerEmail = viewer.kind === "user" ? viewer.email : undefined;

  /** organizationId -> the viewer's membership there. One statement per request, whatever is asked. */
  let accessLoaded: Promise<Map<string, OrganizationAccess>> | undefined;
  const access = () => (accessLoaded ??= loadAccess());
  const loadAccess = async (): Promise<Map<string, OrganizationAccess>> => {
    if (!viewerId) return new Map();
    // Raw SQL of one fixed text through the driver adapter (src/db/client.ts, Database.read): every request of a
    // signed-in user runs this, and a Prisma model query would be compiled afresh each time (about 0.7 ms of CPU
    // more per call), $queryRaw's request pipeline about 0.18 ms more.
    const [row] = await readRows<{ access: unknown }>(ACCESS_SQL, [viewerId]);
    return accessMap(jsonOf<MembershipEntry[]>(row?.access ?? []));
  };

  /**
   * `access` and `defaultRole.load(organizationId)` in ONE statement, when this request has not read `access` yet:
   * createInvitation's rule needs both before anything else (a statement less per invitation). Afterwards both
   * answer from memory, as if each had run its own statement.
   */
  const accessAndDefaultRole = async (organizationId: string): Promise<void> => {
    if (accessLoaded || !viewerId) return;
    const loaded = readRows<{ access: unknown; role: unknown }>(ACCESS_AND_DEFAULT_ROLE_SQL, [viewerId, organizationId]);
    accessLoaded = loaded.then(([row]) => accessMap(jsonOf<MembershipEntry[]>(row?.access ?? [])));
    // A failure reaches the caller through `await loaded` below; this copy must not also be an unhandled rejection.
    accessLoaded.catch(() => {});
    const [row] = await loaded;
    const role = row?.role == null ? null : jsonOf<[string, string, string, string, number | string]>(row.role);
    defaultRole.prime(
      organizationId,
      role
        ? { id: role[0], organizationId, key: role[1], name: role[2], permissions: splitPermissions(role[3]), createdAt: new Date(Number(role[4])) }
        : null,
    );
  };

  /** organizationId -> its member role (the default for invitations). */
  const defaultRole = new DataLoader<string, Role | null>(async (organizationIds) =>
    byKey(
      organizationIds,
      // Raw SQL of one fixed text through the adapter, like `access`: every createInvitation without a roleId needs it.
      (await readRows<Omit<Role, "createdAt"> & { createdAt: unknown }>(DEFAULT_ROLE_SQL, [[...organizationIds]])).map((row) => ({
        ...row,
        createdAt: timestampOf(row.createdAt),
      })),
      (r) => r.organizationId,
    ),
  );

  /** Organizations that invited the viewer's email and are still waiting for an answer. */
  const invitedOrganizationIds = once(async (): Promise<Set<string>> => {
    if (!viewerEmail) return new Set();
    const rows = await prisma.invitation.findMany({
      where: { email: viewerEmail, status: "PENDING", expiresAt: { gt: now() }, ...NOT_DELETED },
      select: { organizationId: true },
    });
    return new Set(rows.map((r) => r.organizationId));
  });

  return {
    access,
    accessAndDefaultRole,
    invitedOrganizationIds,

    /** Whether a user shares an organization with the viewer (the viewer counts as sharing with themself). */
    sharesOrganization: new DataLoader<string, boolean>(async (userIds) => {
      const orgIds = [...(await access()).keys()];
      if (orgIds.length === 0) return userIds.map((id) => id === viewerId);
      const rows = await prisma.membership.findMany({
        where: { userId: { in: [...userIds] }, organizationId: { in: orgIds } },
        select: { userId: true },
        distinct: ["userId"],
      });
      const fellow = new Set(rows.map((r) => r.userId));
      return userIds.map((id) => id === viewerId || fellow.has(id));
    }),

    /** Invitations by id, deleted ones left out. */
    invitation: new DataLoader<string, Invitation | null>(async (ids) =>
      byKey(ids, await prisma.invitation.findMany({ where: { id: { in: [...ids] }, ...NOT_DELETED } }), (r) => r.id),
    ),

    invitationByTokenHash: new DataLoader<string, Invitation | null>(async (hashes) =>
      byKey(
        hashes,
        await prisma.invitation.findMany({ where: { tokenHash: { in: [...hashes] }, ...NOT_DELETED } }),
        (r) => r.tokenHash,
      ),
    ),

    /** Memberships by id, with their role (the member-management rules compare it with the viewer's). */
    membership: new DataLoader<string, MembershipFacts | null>(async (ids) =>
      byKey(
        ids,
        await prisma.membership.findMany({
          where: { id: { in: [...ids] } },
          select: { id: true, userId: true, organizationId: true, roleId: true, role: { select: { key: true, permissions: true } } },
        }),
        (r) => r.id,
      ),
    ),

    group: new DataLoader<string, Group | null>(async (ids) =>
      byKey(ids, await prisma.group.findMany({ where: { id: { in: [...ids] } } }), (r) => r.id),
    ),

    role: new DataLoader<string, Role | null>(async (ids) =>
      byKey(ids, await prisma.role.findMany({ where: { id: { in: [...ids] } } }), (r) => r.id),
    ),

    defaultRole,

    /** The user an email belongs to (most recently active if several share it). */
    userByEmail: new DataLoader<string, User | null>(async (emails) => {
      const rows = await prisma.user.findMany({ where: { email: { in: [...emails] } }, orderBy: { updatedAt: "asc" } });
      return byKey(emails, rows, (r) => r.email);
    }),
  };
}

/**
 * Mutations change the facts the loaders hold (a new organization makes the viewer its owner; an accept makes them
 * a member). Each mutation field gets fresh loaders once it has run, so its payload and the next mutation of the same
 * document are checked against the new state. Applied with the shield rules (src/server.ts).
 */
export function freshLoadersAfterMutations(schema: GraphQLSchema): IMiddlewareFieldMap {
  const mutation = schema.getMutationType();
  const fields: Record<string, IMiddlewareFunction> = {};
  for (const name of Object.keys(mutation?.getFields() ?? {})) {
    fields[name] = async (resolve, parent, args, ctx: Context, info) => {
      try {
        return await resolve(parent, args, ctx, info);
      } finally {
        ctx.loaders = createLoaders(ctx.viewer);
      }
    };
  }
  return mutation ? { [mutation.name]: fields } : {};
}

/**
 * Invitations: the type, the viewer's pending list, and the lifecycle mutations. Authorization happens before any
 * of these resolvers run (src/permissions); the mutations parse their input, open a transaction and hand it to
 * src/invitations/lifecycle.ts, which makes the change.
 */
import type { GraphQLResolveInfo } from "graphql";
import { EMAIL } from "../events/record.js";
import { statementWithEvents, transactionWithEvents } from "../events/publish.js";
import { wakeWorkers } from "../events/worker.js";
import { builder, decodeIdOf, encodeId } from "../builder.js";
import { now } from "../clock.js";
import type { Context } from "../context.js";
import { prisma } from "../db/client.js";
import { findOneById } from "../db/read-sql.js";
import { AppError, BadUserInputError, withConflicts } from "../errors.js";
import { UNLIMITED } from "../ratelimit.js";
import type { Invitation, Membership, Prisma } from "../generated/prisma/client.js";
import * as bulk from "../invitations/bulk.js";
import * as lifecycle from "../invitations/lifecycle.js";
import { invitationRole, organizationGroupIdLists, organizationGroupIds } from "../invitations/references.js";
import {
  DELIVERY_STATUSES,
  effectiveStatus,
  INVITATION_STATUSES,
  invitationFilterSql,
  type DeliveryStatus,
  pendingInvitationsSql,
} from "../invitations/status.js";
import { hashToken } from "../invitations/token.js";
import { NOT_DELETED } from "../loaders.js";
import { answerableInvitation, requireNoEscalation, requireViewer, type AnswerInput } from "../permissions/access.js";
import { LIMITS, normalizeEmail, optionalExpiry, optionalMetadata, optionalVersion, requireEmail } from "../validation.js";

import { readsColumns, selectedColumnsAt } from "./columns.js";
import { keysetConnection, type PageArgs } from "./connections.js";
import { MembershipRef } from "./membership.js";
import { UserRef } from "./user.js";

export const InvitationStatusEnum = builder.enumType("InvitationStatus", { values: INVITATION_STATUSES });

export const DeliveryStatusEnum = builder.enumType("DeliveryStatus", {
  description: "Where the invitation email stands. DISABLED: not sent by design (no mail server configured, or the invitation was answered, revoked or deleted before it went out).",
  values: DELIVERY_STATUSES,
});

interface Delivery {
  status: DeliveryStatus;
  attempts: number;
  lastError: string | null;
  sentAt: Date | null;
}

const InvitationDeliveryRef = builder.objectRef<Delivery>("InvitationDelivery").implement({
  description: "The invitation email: its latest sending (after a resend, the new email's).",
  fields: (t) => ({
    status: t.field({ type: DeliveryStatusEnum, resolve: (d) => d.status }),
    attempts: t.exposeInt("attempts"),
    lastError: t.exposeString("lastError", { nullable: true }),
    sentAt: t.expose("sentAt", { type: "DateTime", nullable: true }),
  }),
});

export const InvitationRef = builder.prismaNode("Invitation", {
  id: { field: "id" },
  fields: (t) => ({
    email: t.exposeString("email"),
    // No `select`: the type is in include mode, so every row carries its scalars already, and a `select` here made
    // Pothos read a mutation payload's invitation again (one more statement) just to be sure of them.
    status: t.field({
      type: InvitationStatusEnum,
      extensions: readsColumns("status", "expiresAt"),
      resolve: (invitation) => effectiveStatus(invitation, now()),
    }),
    organization: t.relation("organization"),
    role: t.relation("role"),
    groups: t.relation("groups", { query: { orderBy: { name: "asc" } } }),
    invitedBy: t.relation("invitedBy", { nullable: true }),
    invitee: t.field({
      type: UserRef,
      nullable: true,
      description: "The user who answered, or before an answer the user with this email, once known.",
      select: { email: true, invitee: true },
      resolve: (invitation, _args, ctx) => invitation.invitee ?? ctx.loaders.userByEmail.load(invitation.email),
    }),
    metadata: t.expose("metadata", { type: "JSON", nullable: true }),
    delivery: t.field({
      type: InvitationDeliveryRef,
      nullable: true,
      description: "The invitation email's delivery; null for invitations made before emails were recorded.",
      select: {
        deliveries: {
          where: { destination: EMAIL },
          orderBy: { id: "desc" },
          take: 1,
          select: { status: true, attempts: true, lastError: true, sentAt: true },
        },
      },
      resolve: (invitation) => invitation.deliveries[0] ?? null,
    }),
    createdAt: t.expose("createdAt", { type: "DateTime" }),
    updatedAt: t.expose("updatedAt", { type: "DateTime" }),
    expiresAt: t.expose("expiresAt", { type: "DateTime" }),
    acceptedAt: t.expose("acceptedAt", { type: "DateTime", nullable: true }),
    declinedAt: t.expose("declinedAt", { type: "DateTime", nullable: true }),
    revokedAt: t.expose("revokedAt", { type: "DateTime", nullable: true }),
    version: t.exposeInt("version", {
      description:
        "1 when created, one more with every change a client makes (resend, revoke, accept, decline, delete); not changed by email deliveries or by expiring. Give it as expectedVersion to revoke, resend or delete only what you read.",
    }),
  }),
});

export const InvitationConnection = builder.connectionObject({ type: InvitationRef, name: "InvitationConnection" });

builder.queryField("pendingInvitations", (t) =>
  t.connection(
    {
      type: InvitationRef,
      description: "The viewer's invitations that await an answer and have not expired, across organizations; newest first.",
      resolve: (_root, args, ctx, info) => pendingInvitationsConnection(requireViewer(ctx).email, args, ctx, info),
    },
    InvitationConnection,
  ),
);

builder.prismaObjectField("User", "pendingInvitations", (t) =>
  t.connection(
    {
      type: InvitationRef,
      description: "Invitations to this user's email that await an answer and have not expired, newest first (self only).",
      extensions: readsColumns("email"),
      resolve: (user, args, ctx, info) => pendingInvitationsConnection(user.email, args, ctx, info),
    },
    InvitationConnection,
  ),
);

builder.prismaObjectField("User", "managedInvitations", (t) =>
  t.connection(
    {
      type: InvitationRef,
      description:
        "Invitations of every organization where this user holds invitations:read (an enterprise administrator's view), newest first; the same filters as Organization.invitations (self only).",
      extensions: readsColumns(),
      args: {
        status: t.arg({ type: [InvitationStatusEnum], required: false }),
        email: t.arg.string({ required: false }),
      },
      resolve: async (_user, args, ctx, info) => {
        // The field's rule (isSelf) makes the parent the viewer, whose memberships the request has loaded already.
        const managed = [...(await ctx.loaders.access()).entries()]
          .filter(([, access]) => access.permissions.has("invitations:read"))
          .map(([organizationId]) => organizationId);
        return keysetConnection({
          table: "Invitation",
          where: invitationFilterSql(args, now()),
          partition: { column: "organizationId", ids: managed.sort() },
          args,
          ctx,
          info,
        });
      },
    },
    InvitationConnection,
  ),
);

function pendingInvitationsConnection(email: string, args: PageArgs, ctx: Context, info: GraphQLResolveInfo) {
  return keysetConnection({
    table: "Invitation",
    where: pendingInvitationsSql(email, now()),
    args,
    ctx,
    info,
  });
}

builder.queryField("invitation", (t) =>
  t.prismaField({
    type: "Invitation",
    nullable: true,
    description: "The invitee, and members with invitations:read, may read an invitation; anyone else gets NOT_FOUND.",
    args: { id: t.arg.id({ required: true }) },
    resolve: (query, _root, args, _ctx, info) =>
      findOneById<Invitation>("Invitation", decodeIdOf("Invitation", args.id, "id"), selectedColumnsAt("Invitation", query, info, []), ["deletedAt"]),
  }),
);

// ---- Mutations -------------------------------------------------------------------------------------------------

const CreateInvitationInput = builder.inputType("CreateInvitationInput", {
  fields: (t) => ({
    organizationId: t.id({ required: true }),
    email: t.string({ required: true, description: "Trimmed and lower-cased; at most 254 characters." }),
    roleId: t.id({ description: "A role of the organization; defaults to its member role." }),
    groupIds: t.idList({ description: "Groups of the organization the invitee joins on accepting." }),
    metadata: t.field({ type: "JSON", description: "A JSON object of at most 4 KB, returned with the invitation." }),
    expiresAt: t.field({ type: "DateTime", description: "In the future, at most 30 days ahead; default INVITATION_TTL_HOURS." }),
  }),
});

/** Accept and decline take the same input under their own names (codegen gives each mutation its own type). */
function answerInput(name: string) {
  return builder.inputType(name, {
    description: "Exactly one of invitationId or token.",
    fields: (t) => ({
      invitationId: t.id({ description: "The invitation's ID (the invitee, signed in)." }),
      token: t.string({ description: "The secret token from the invitation link." }),
    }),
  });
}
const AcceptInvitationInput = answerInput("AcceptInvitationInput");
const DeclineInvitationInput = answerInput("DeclineInvitationInput");

function invitationIdInput(name: string) {
  return builder.inputType(name, {
    fields: (t) => ({
      invitationId: t.id({ required: true }),
      expectedVersion: t.int({
        description: "The invitation's version as last read: if it has changed since, nothing is done (CONFLICT/STALE_VERSION).",
      }),
    }),
  });
}
const RevokeInvitationInput = invitationIdInput("RevokeInvitationInput");
const ResendInvitationInput = invitationIdInput("ResendInvitationInput");
const DeleteInvitationInput = invitationIdInput("DeleteInvitationInput");

const InvitationWithTokenPayload = (name: string, description: string) =>
  builder.objectRef<{ invitation: Invitation; token: string }>(name).implement({
    fields: (t) => ({
      invitation: t.field({ type: InvitationRef, resolve: (p) => p.invitation }),
      token: t.exposeString("token", { description }),
    }),
  });

const TOKEN_DESCRIPTION = "The secret for the invitation link. Shown once: only its hash is stored.";
const CreateInvitationPayload = InvitationWithTokenPayload("CreateInvitationPayload", TOKEN_DESCRIPTION);
const ResendInvitationPayload = InvitationWithTokenPayload("ResendInvitationPayload", `${TOKEN_DESCRIPTION} The previous token stops working.`);

const AcceptInvitationPayload = builder.objectRef<{ invitation: Invitation; membership: Membership }>("AcceptInvitationPayload").implement({
  fields: (t) => ({
    invitation: t.field({ type: InvitationRef, resolve: (p) => p.invitation }),
    membership: t.field({ type: MembershipRef, resolve: (p) => p.membership }),
  }),
});

function invitationPayload(name: string) {
  return builder.objectRef<{ invitation: Invitation }>(name).implement({
    fields: (t) => ({ invitation: t.field({ type: InvitationRef, resolve: (p) => p.invitation }) }),
  });
}
const DeclineInvitationPayload = invitationPayload("DeclineInvitationPayload");
const RevokeInvitationPayload = invitationPayload("RevokeInvitationPayload");

const DeleteInvitationPayload = builder.objectRef<{ deletedInvitationId: string }>("DeleteInvitationPayload").implement({
  fields: (t) => ({ deletedInvitationId: t.exposeID("deletedInvitationId") }),
});

function expiryFrom(ctx: Context, at: Date): Date {
  return new Date(at.getTime() + ctx.settings.invitationTtlHours * 3600_000);
}

/**
 * One transaction around a lifecycle operation; a known unique violation becomes its CONFLICT error. Once it has
 * committed, its events go to subscribers (src/events/publish.ts).
 */
async function inTransaction<T>(operation: (tx: Prisma.TransactionClient) => Promise<T>): Promise<T> {
  const result = await withConflicts(() => transactionWithEvents(operation));
  // The change and its deliveries are committed: this instance's worker sends them now rather than at its next poll.
  wakeWorkers();
  return result;
}

/** The invitation being answered (the permission rule loaded and checked it already: this hits the request cache). */
async function answerTarget(ctx: Context, input: AnswerInput): Promise<lifecycle.AnswerTarget> {
  const { id, organizationId, email } = await answerableInvitation(ctx, input);
  return { id, organizationId, email, tokenHash: input.token ? hashToken(input.token) : undefined };
}

builder.mutationField("createInvitation", (t) =>
  t.field({
    type: CreateInvitationPayload,
    description: "Invites an email into an organization with a role and groups. Needs invitations:create.",
    args: { input: t.arg({ type: CreateInvitationInput, required: true }) },
    resolve: async (_root, { input }, ctx) => {
      const viewer = requireViewer(ctx);
      const at = now();
      const organizationId = decodeIdOf("Organization", input.organizationId, "organizationId");
      const email = requireEmail(input.email, "email");
      const metadata = optionalMetadata(input.metadata, "metadata") as Prisma.InputJsonObject | null;
      const expiresAt = optionalExpiry(input.expiresAt, at, "expiresAt") ?? expiryFrom(ctx, at);
      const role = await invitationRole(ctx.loaders, organizationId, input.roleId);
      const groupIds = await organizationGroupIds(organizationId, input.groupIds);
      // One statement, no transaction around it (see lifecycle.create).
      const created = await withConflicts(() =>
        statementWithEvents((db) =>
          lifecycle.create(db, { kind: "user", id: viewer.id }, { organizationId, email, roleId: role.id, groupIds, metadata, expiresAt }, at),
        ),
      );
      wakeWorkers();
      return created;
    },
  }),
);

builder.mutationField("acceptInvitation", (t) =>
  t.field({
    type: AcceptInvitationPayload,
    description: "The invitee accepts: becomes a member with the invitation's role and groups.",
    args: { input: t.arg({ type: AcceptInvitationInput, required: true }) },
    resolve: async (_root, { input }, ctx) => {
      const viewer = requireViewer(ctx);
      const target = await answerTarget(ctx, input);
      const at = now();
      return inTransaction((tx) => lifecycle.accept(tx, { kind: "user", id: viewer.id }, target, at));
    },
  }),
);

builder.mutationField("declineInvitation", (t) =>
  t.field({
    type: DeclineInvitationPayload,
    description: "The invitee declines.",
    args: { input: t.arg({ type: DeclineInvitationInput, required: true }) },
    resolve: async (_root, { input }, ctx) => {
      const viewer = requireViewer(ctx);
      const target = await answerTarget(ctx, input);
      const at = now();
      const invitation = await inTransaction((tx) => lifecycle.decline(tx, { kind: "user", id: viewer.id }, target, at));
      return { invitation };
    },
  }),
);

builder.mutationField("revokeInvitation", (t) =>
  t.field({
    type: RevokeInvitationPayload,
    description: "Revokes a pending or expired invitation. Needs invitations:revoke.",
    args: { input: t.arg({ type: RevokeInvitationInput, required: true }) },
    resolve: async (_root, { input }, ctx) => {
      const viewer = requireViewer(ctx);
      const id = decodeIdOf("Invitation", input.invitationId, "invitationId");
      const at = now();
      const expectedVersion = optionalVersion(input.expectedVersion, "expectedVersion");
      const invitation = await inTransaction((tx) => lifecycle.revoke(tx, { kind: "user", id: viewer.id }, { id, expectedVersion }, at));
      return { invitation };
    },
  }),
);

builder.mutationField("resendInvitation", (t) =>
  t.field({
    type: ResendInvitationPayload,
    description:
      "Issues a new token and expiry for a pending or expired invitation (the old token stops working). Needs invitations:create.",
    args: { input: t.arg({ type: ResendInvitationInput, required: true }) },
    resolve: async (_root, { input }, ctx) => {
      const viewer = requireViewer(ctx);
      const id = decodeIdOf("Invitation", input.invitationId, "invitationId");
      const at = now();
      const expectedVersion = optionalVersion(input.expectedVersion, "expectedVersion");
      return inTransaction((tx) =>
        lifecycle.resend(tx, { kind: "user", id: viewer.id }, { id, expectedVersion, expiresAt: expiryFrom(ctx, at) }, at),
      );
    },
  }),
);

builder.mutationField("deleteInvitation", (t) =>
  t.field({
    type: DeleteInvitationPayload,
    description: "Removes an invitation, whatever its status, from every list and lookup. Needs invitations:revoke.",
    args: { input: t.arg({ type: DeleteInvitationInput, required: true }) },
    resolve: async (_root, { input }, ctx) => {
      const viewer = requireViewer(ctx);
      const id = decodeIdOf("Invitation", input.invitationId, "invitationId");
      const at = now();
      const expectedVersion = optionalVersion(input.expectedVersion, "expectedVersion");
      const invitation = await inTransaction((tx) => lifecycle.remove(tx, { kind: "user", id: viewer.id }, { id, expectedVersion }, at));
      return { deletedInvitationId: encodeId("Invitation", invitation.id) };
    },
  }),
);

// ---- Bulk ------------------------------------------------------------------------------------------------------

const CreateInvitationsItemInput = builder.inputType("CreateInvitationsItemInput", {
  fields: (t) => ({
    email: t.string({ required: true, description: "Trimmed and lower-cased; at most 254 characters." }),
    roleId: t.id({ description: "A role of the organization; defaults to its member role." }),
    groupIds: t.idList({ description: "Groups of the organization the invitee joins on accepting." }),
    metadata: t.field({ type: "JSON", description: "A JSON object of at most 4 KB, returned with the invitation." }),
  }),
});

const CreateInvitationsInput = builder.inputType("CreateInvitationsInput", {
  fields: (t) => ({
    organizationId: t.id({ required: true }),
    invitations: t.field({
      type: [CreateInvitationsItemInput],
      required: true,
      description: "1 to 100 addresses; each gets its own result, in this order. They expire after INVITATION_TTL_HOURS.",
    }),
  }),
});

interface ResultError {
  code: string;
  reason: string | null;
  field: string | null;
  message: string;
}

const CreateInvitationsErrorRef = builder.objectRef<ResultError>("CreateInvitationsError").implement({
  description: "Why one address was not invited: the error createInvitation would have given for it.",
  fields: (t) => ({
    code: t.exposeString("code", { description: "An error code of the API (extensions.code): BAD_USER_INPUT, FORBIDDEN, CONFLICT, RATE_LIMITED." }),
    reason: t.exposeString("reason", { nullable: true, description: "As extensions.reason: ALREADY_INVITED, SEAT_LIMIT_REACHED, DOMAIN_NOT_ALLOWED…" }),
    field: t.exposeString("field", { nullable: true, description: "For BAD_USER_INPUT, the input field, as a path: invitations.3.email." }),
    message: t.exposeString("message"),
  }),
});

interface BulkResult {
  email: string;
  invitation: Invitation | null;
  token: string | null;
  error: ResultError | null;
}

const CreateInvitationsResultRef = builder.objectRef<BulkResult>("CreateInvitationsResult").implement({
  description: "One address of a createInvitations call: its invitation and token, or its error.",
  fields: (t) => ({
    email: t.exposeString("email", { description: "The address, normalised when valid, else as given." }),
    invitation: t.field({ type: InvitationRef, nullable: true, resolve: (r) => r.invitation }),
    token: t.exposeString("token", { nullable: true, description: TOKEN_DESCRIPTION }),
    error: t.field({ type: CreateInvitationsErrorRef, nullable: true, resolve: (r) => r.error }),
  }),
});

const CreateInvitationsPayload = builder.objectRef<{ results: BulkResult[] }>("CreateInvitationsPayload").implement({
  fields: (t) => ({
    results: t.field({ type: [CreateInvitationsResultRef], description: "One per address, in input order.", resolve: (p) => p.results }),
  }),
});

function resultError(error: AppError): ResultError {
  const { code, reason, field } = error.extensions as { code: string; reason?: string; field?: string };
  return { code, reason: reason ?? null, field: field ?? null, message: error.message };
}

/** Runs a check for one address; its AppError becomes that address's outcome, anything else fails the request. */
async function refusal(check: () => Promise<unknown> | unknown): Promise<AppError | undefined> {
  try {
    await check();
    return undefined;
  } catch (error) {
    if (error instanceof AppError) return error;
    throw error;
  }
}

builder.mutationField("createInvitations", (t) =>
  t.field({
    type: CreateInvitationsPayload,
    description:
      "Invites 1 to 100 addresses into an organization in one transaction, each succeeding or failing on its own (results in input order). Needs invitations:create.",
    args: { input: t.arg({ type: CreateInvitationsInput, required: true }) },
    resolve: async (_root, { input }, ctx) => {
      const viewer = requireViewer(ctx);
      const at = now();
      const organizationId = decodeIdOf("Organization", input.organizationId, "organizationId");
      const entries = input.invitations;
      if (entries.length < 1 || entries.length > LIMITS.listItems) {
        throw new BadUserInputError("invitations", `invitations must hold 1 to ${LIMITS.listItems} addresses.`);
      }
      const path = (index: number, field: string) => `invitations.${index}.${field}`;
      const outcomes: Array<bulk.BulkOutcome | undefined> = entries.map(() => undefined);
      const items: Array<bulk.BulkItem | undefined> = entries.map(() => undefined);
      const groupLists = await organizationGroupIdLists(
        organizationId,
        entries.map((e) => e.groupIds),
        (index) => path(index, "groupIds"),
      );
      await Promise.all(
        entries.map(async (entry, index) => {
          let item: bulk.BulkItem | undefined;
          const error = await refusal(async () => {
            const email = requireEmail(entry.email, path(index, "email"));
            const metadata = optionalMetadata(entry.metadata, path(index, "metadata")) as Prisma.InputJsonObject | null;
            let role;
            try {
              role = await invitationRole(ctx.loaders, organizationId, entry.roleId);
            } catch (e) {
              if (e instanceof BadUserInputError) throw new BadUserInputError(path(index, "roleId"), e.message);
              throw e;
            }
            const groupIds = groupLists[index]!;
            if (groupIds instanceof BadUserInputError) throw groupIds;
            await requireNoEscalation(ctx, organizationId, role.permissions);
            item = { email, roleId: role.id, groupIds, metadata };
          });
          if (error) outcomes[index] = { error };
          items[index] = item;
        }),
      );
      bulk.refuseRepeats(items, outcomes);
      await bulk.spendBudgets(ctx.budgets ?? UNLIMITED, viewer.id, organizationId, items, outcomes);
      if (items.some((item, index) => item && !outcomes[index])) {
        await inTransaction((tx) =>
          bulk.createMany(tx, { kind: "user", id: viewer.id }, organizationId, items, outcomes, expiryFrom(ctx, at), at),
        );
      }
      return {
        results: entries.map((entry, index) => {
          const outcome = outcomes[index]!;
          const email = items[index]?.email ?? normalizeEmail(entry.email) ?? entry.email;
          return outcome.error
            ? { email, invitation: null, token: null, error: resultError(outcome.error) }
            : { email, invitation: outcome.invitation, token: outcome.token, error: null };
        }),
      };
    },
  }),
);

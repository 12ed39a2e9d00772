import { randomBytes } from "node:crypto";
import { getNamedType, isObjectType, type GraphQLResolveInfo } from "graphql";
import { builder, decodeIdOf } from "../builder.js";
import { now } from "../clock.js";
import { prisma } from "../db/client.js";
import { findOneById } from "../db/read-sql.js";
import { ConflictError, conflictFrom } from "../errors.js";
import { Prisma, type Organization } from "../generated/prisma/client.js";
import { uuidv7 } from "../ids.js";
import { invitationListSql } from "../invitations/status.js";
import { DEFAULT_ROLES, OWNER_ROLE_KEY } from "../permissions/catalog.js";
import { requireViewer } from "../permissions/access.js";
import { emailDomains, optionalSeatLimit, optionalUrl, requireName, requireSlug, slugify } from "../validation.js";

import { fieldSelections, readsColumns, selectedColumnsAt, selectedFields } from "./columns.js";
import { keysetConnection } from "./connections.js";
import { GroupRef } from "./group.js";
import { DeliveryStatusEnum, InvitationConnection, InvitationRef, InvitationStatusEnum } from "./invitation.js";
import { MembershipConnection, MembershipRef } from "./membership.js";
import { RoleRef } from "./role.js";

/** A UUID no row has: filters "the viewer's rows" to nothing for anonymous viewers. */
const NO_USER = "00000000-0000-0000-0000-000000000000";

export const OrganizationRef = builder.prismaNode("Organization", {
  id: { field: "id" },
  fields: (t) => ({
    name: t.exposeString("name"),
    slug: t.exposeString("slug"),
    logoUrl: t.exposeString("logoUrl", { nullable: true }),
    // Folded into the statement that loads the organization (a count per row, by index), not a statement of its own.
    memberCount: t.relationCount("memberships"),
    seatLimit: t.exposeInt("seatLimit", {
      nullable: true,
      description:
        "Members plus pending invitations may not exceed it when inviting (CONFLICT/SEAT_LIMIT_REACHED); null: no limit. Members only.",
    }),
    allowedEmailDomains: t.exposeStringList("allowedEmailDomains", {
      description: "Invitations may only be addressed to these domains (exact match; FORBIDDEN/DOMAIN_NOT_ALLOWED); empty: any. Members only.",
    }),
    createdAt: t.expose("createdAt", { type: "DateTime" }),
    viewerMembership: t.field({
      type: MembershipRef,
      nullable: true,
      description: "The viewer's membership; null when the viewer is not a member.",
      extensions: readsColumns(),
      select: (_args, ctx, nestedSelection) => ({
        memberships: nestedSelection({ where: { userId: ctx.viewer.kind === "user" ? ctx.viewer.id : NO_USER }, take: 1 }),
      }),
      resolve: (org) => org.memberships[0] ?? null,
    }),
    roles: t.relation("roles", { query: { orderBy: [{ createdAt: "asc" }, { id: "asc" }] }, description: "Members only." }),
    groups: t.relation("groups", { query: { orderBy: { name: "asc" } }, description: "Members only." }),
    members: t.connection(
      {
        type: MembershipRef,
        description: "Members only (members:read). Newest first.",
        extensions: readsColumns(),
        resolve: (org, args, ctx, info) =>
          keysetConnection({
            table: "Membership",
            where: Prisma.sql`"organizationId" = ${org.id}::uuid`,
            args,
            ctx,
            info,
          }),
      },
      MembershipConnection,
    ),
    invitations: t.connection(
      {
        type: InvitationRef,
        description: "Needs invitations:read. Newest first; filter by status (EXPIRED is derived) and exact email.",
        extensions: readsColumns(),
        args: {
          status: t.arg({ type: [InvitationStatusEnum], required: false }),
          email: t.arg.string({ required: false }),
          deliveryStatus: t.arg({ type: [DeliveryStatusEnum], required: false, description: "The invitation email's delivery status." }),
        },
        resolve: (org, args, ctx, info) =>
          keysetConnection({
            table: "Invitation",
            where: invitationListSql(org.id, args, now()),
            args,
            ctx,
            info,
          }),
      },
      InvitationConnection,
    ),
  }),
});

// Referenced so the type is part of the schema even before a field names it.
void GroupRef;
void RoleRef;

builder.queryField("organization", (t) =>
  t.prismaField({
    type: "Organization",
    nullable: true,
    description: "Members, and invitees with a pending invitation, see an organization; anyone else gets NOT_FOUND.",
    args: { id: t.arg.id({ required: true }) },
    resolve: async (query, _root, args, _ctx, info) => {
      const id = decodeIdOf("Organization", args.id, "id");
      // An admin's list (`organization(id) { invitations(…) }`) needs nothing of the row but its id, and the rule
      // that let this field run (canSeeOrganizationArg) found the viewer's membership or pending invitation there,
      // so the organization exists: answered without reading it (a statement less for every such page).
      const { include, select } = query as { include?: unknown; select?: unknown };
      if (!include && !select && needsOnlyId(info)) return { id } as Organization;
      return findOneById<Organization>("Organization", id, selectedColumnsAt("Organization", query, info, []));
    },
  }),
);

/** Fields of Organization answered from its id alone: the id, and its lists (read by organizationId). */
const ID_ONLY_FIELDS = new Set(["id", "__typename", "invitations", "members", "webhookEndpoints"]);

/** Whether the selection on the field's Organization asks only for ID_ONLY_FIELDS (fragments included). */
function needsOnlyId(info: GraphQLResolveInfo): boolean {
  const sets = fieldSelections(info);
  const organization = getNamedType(info.returnType);
  return isObjectType(organization) && [...selectedFields(organization, sets, info.fragments).keys()].every((name) => ID_ONLY_FIELDS.has(name));
}

const CreateOrganizationInput = builder.inputType("CreateOrganizationInput", {
  fields: (t) => ({
    name: t.string({ required: true, description: "At most 100 characters." }),
    slug: t.string({ description: "Lower-case letters, digits and inner hyphens; derived from the name when absent." }),
    logoUrl: t.string({ description: "An http(s) URL." }),
  }),
});

const CreateOrganizationPayload = builder.objectRef<{ organization: Organization }>("CreateOrganizationPayload").implement({
  fields: (t) => ({ organization: t.field({ type: OrganizationRef, resolve: (payload) => payload.organization }) }),
});

builder.mutationField("createOrganization", (t) =>
  t.field({
    type: CreateOrganizationPayload,
    description: "Creates an organization with owner, admin and member roles, and makes the viewer its owner.",
    args: { input: t.arg({ type: CreateOrganizationInput, required: true }) },
    resolve: async (_root, { input }, ctx) => {
      const viewer = requireViewer(ctx);
      const name = requireName(input.name, "name");
      const logoUrl = optionalUrl(input.logoUrl, "logoUrl");
      if (input.slug != null) {
        return { organization: await createOrganization(viewer.id, name, requireSlug(input.slug), logoUrl) };
      }
      // A derived slug that is taken gets a short random suffix instead of failing.
      const base = slugify(name);
      for (let attempt = 0; ; attempt += 1) {
        const slug = attempt === 0 ? base : `${base}-${randomBytes(2).toString("hex")}`;
        try {
          return { organization: await createOrganization(viewer.id, name, slug, logoUrl) };
        } catch (error) {
          if (!(error instanceof ConflictError) || attempt >= 4) throw error;
        }
      }
    },
  }),
);

async function createOrganization(userId: string, name: string, slug: string, logoUrl: string | null): Promise<Organization> {
  const roles = DEFAULT_ROLES.map((role) => ({ id: uuidv7(), key: role.key, name: role.name, permissions: [...role.permissions] }));
  const ownerRoleId = roles.find((r) => r.key === OWNER_ROLE_KEY)!.id;
  try {
    return await prisma.$transaction(async (tx) => {
      const organization = await tx.organization.create({ data: { name, slug, logoUrl, roles: { createMany: { data: roles } } } });
      await tx.membership.create({ data: { userId, organizationId: organization.id, roleId: ownerRoleId } });
      return organization;
    });
  } catch (error) {
    const conflict = conflictFrom(error);
    if (conflict?.extensions.reason === "SLUG_TAKEN") throw new ConflictError("SLUG_TAKEN", `The slug "${slug}" is already taken.`);
    throw conflict ?? error;
  }
}

const UpdateOrganizationInput = builder.inputType("UpdateOrganizationInput", {
  description: "Fields left out stay as they are.",
  fields: (t) => ({
    organizationId: t.id({ required: true }),
    name: t.string({ description: "At most 100 characters; null leaves it unchanged." }),
    logoUrl: t.string({ description: "An http(s) URL; null or empty removes the logo." }),
    seatLimit: t.int({
      description:
        "1 to 1000000, or null for no limit. May be set below the seats in use: members and pending invitations stay, and new invitations are refused until enough leave.",
    }),
    allowedEmailDomains: t.stringList({
      description: "At most 50 domains such as example.com (lower-cased, exact match); null or empty allows any. Applies to new invitations and resends.",
    }),
  }),
});

const UpdateOrganizationPayload = builder.objectRef<{ organization: Organization }>("UpdateOrganizationPayload").implement({
  fields: (t) => ({ organization: t.field({ type: OrganizationRef, resolve: (payload) => payload.organization }) }),
});

builder.mutationField("updateOrganization", (t) =>
  t.field({
    type: UpdateOrganizationPayload,
    description: "Changes an organization's name, logo, seat limit or allowed email domains. Needs organization:update.",
    args: { input: t.arg({ type: UpdateOrganizationInput, required: true }) },
    resolve: async (_root, { input }, ctx) => {
      requireViewer(ctx);
      const id = decodeIdOf("Organization", input.organizationId, "organizationId");
      const data: Prisma.OrganizationUpdateInput = {};
      if (input.name != null) data.name = requireName(input.name, "name");
      if (input.logoUrl !== undefined) data.logoUrl = optionalUrl(input.logoUrl, "logoUrl");
      if (input.seatLimit !== undefined) data.seatLimit = optionalSeatLimit(input.seatLimit, "seatLimit");
      if (input.allowedEmailDomains !== undefined) data.allowedEmailDomains = emailDomains(input.allowedEmailDomains, "allowedEmailDomains");
      // An UPDATE takes the row lock that invitations take (src/invitations/lifecycle.ts lockAddresses): an
      // invitation being created meanwhile is decided under the old limits or the new ones, never a mix.
      return { organization: await prisma.organization.update({ where: { id }, data }) };
    },
  }),
);

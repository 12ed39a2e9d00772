/** The permission catalogue (docs/api.md, "Roles and permissions") and the three roles every organization starts with. */
export const PERMISSIONS = [
  "organization:update",
  "members:read",
  "members:manage",
  "invitations:read",
  "invitations:create",
  "invitations:revoke",
  "roles:manage",
] as const;

export type Permission = (typeof PERMISSIONS)[number];

export const DEFAULT_ROLES: ReadonlyArray<{ key: string; name: string; permissions: readonly Permission[] }> = [
  { key: "owner", name: "Owner", permissions: PERMISSIONS },
  { key: "admin", name: "Admin", permissions: ["members:read", "invitations:read", "invitations:create", "invitations:revoke"] },
  { key: "member", name: "Member", permissions: ["members:read"] },
];

export const OWNER_ROLE_KEY = "owner";
export const DEFAULT_INVITATION_ROLE_KEY = "member";

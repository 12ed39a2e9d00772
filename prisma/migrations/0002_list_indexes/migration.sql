-- Hand-written: partial, covering indexes for the hot lists (Prisma's schema language cannot express them).
-- Each list pages by ("createdAt" DESC, id DESC) from a keyset cursor and counts its rows in the same statement:
-- with the filter columns in the index, PostgreSQL walks the page from the cursor and stops after the LIMIT, and
-- the count reads the index alone (no heap visits once the visibility map is set), with or without statistics.

-- organization.invitations(status, email): deleted rows never listed; status, expiry and email filter in the index.
CREATE INDEX "Invitation_list_by_organization" ON "Invitation"("organizationId", "createdAt" DESC, "id" DESC)
  INCLUDE ("status", "expiresAt", "email")
  WHERE "deletedAt" IS NULL;

-- pendingInvitations: the invitee's pending rows across organizations; expiry checked in the index.
CREATE INDEX "Invitation_pending_by_email" ON "Invitation"("email", "createdAt" DESC, "id" DESC)
  INCLUDE ("expiresAt")
  WHERE "status" = 'PENDING' AND "deletedAt" IS NULL;

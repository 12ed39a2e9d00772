-- The checks before inviting addresses into an organization, under the locks that make them hold until commit, in one
-- call (src/invitations/lifecycle.ts addressChecks). A function because the checks must read what committed while the
-- call waited for its locks: a VOLATILE function takes a fresh snapshot for each statement it runs, whereas a plain
-- statement reads everything as of its own start. That lets createInvitation lock, check and insert in ONE
-- statement, outside any transaction (no BEGIN or COMMIT round trip, and the locks are held for the statement only).
--
-- In order: the address locks of `emails` (pg_advisory_xact_lock of "organizationId:email", the key acceptInvitation
-- and resendInvitation take; in sorted order, so two callers sharing addresses cannot deadlock), then the
-- organization's row (FOR NO KEY UPDATE, which serialises everything that takes seats in the organization without
-- blocking the foreign-key checks of other writes); then, each statement seeing whatever committed before the locks
-- were granted: retires the addresses' pending-but-expired invitations (so they stop holding the unique slot), and
-- returns per address whether it is a member and whether it has a pending, unexpired invitation, with the
-- organization's limits and (when it has a seat limit) the seats used: members plus pending, unexpired invitations.
-- No row when the organization does not exist.
CREATE FUNCTION "invitation_address_checks"(org uuid, emails text[], at timestamptz)
RETURNS TABLE ("email" text, "member" boolean, "invited" boolean, "seatsUsed" integer, "seatLimit" integer, "allowedEmailDomains" text[])
LANGUAGE plpgsql VOLATILE AS $$
#variable_conflict use_column
DECLARE
  address text;
  limits record;
BEGIN
  FOR address IN SELECT DISTINCT e COLLATE "C" FROM unnest(emails) AS e ORDER BY 1 LOOP
    PERFORM pg_advisory_xact_lock(hashtextextended(org::text || ':' || address, 0));
  END LOOP;
  SELECT o."seatLimit", coalesce(o."allowedEmailDomains", ARRAY[]::text[]) AS domains INTO limits
    FROM "Organization" AS o WHERE o."id" = org FOR NO KEY UPDATE OF o;
  IF NOT FOUND THEN
    RETURN;
  END IF;
  UPDATE "Invitation" AS i SET "status" = 'EXPIRED', "updatedAt" = at
   WHERE i."organizationId" = org AND i."email" = ANY(emails) AND i."status" = 'PENDING'
     AND i."expiresAt" <= at AND i."deletedAt" IS NULL;
  RETURN QUERY
    SELECT e.address,
      EXISTS (SELECT 1 FROM "Membership" AS m JOIN "User" AS u ON u."id" = m."userId"
              WHERE m."organizationId" = org AND u."email" = e.address),
      EXISTS (SELECT 1 FROM "Invitation" AS i
              WHERE i."organizationId" = org AND i."email" = e.address AND i."status" = 'PENDING'
                AND i."expiresAt" > at AND i."deletedAt" IS NULL),
      CASE WHEN limits."seatLimit" IS NULL THEN NULL ELSE
        ((SELECT count(*) FROM "Membership" AS m WHERE m."organizationId" = org)
          + (SELECT count(*) FROM "Invitation" AS i WHERE i."organizationId" = org AND i."status" = 'PENDING'
              AND i."expiresAt" > at AND i."deletedAt" IS NULL))::integer END,
      limits."seatLimit",
      limits.domains
    FROM unnest(emails) AS e(address);
END
$$;

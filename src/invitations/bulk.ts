/**
 * createInvitations: up to 100 invitations into one organization at once, each address succeeding or failing on its
 * own, in input order. It applies the rules of the single path (src/invitations/lifecycle.ts `create`) with the same
 * steps, batched: one statement takes every address lock and the organization's row, one retires expired invitations
 * and tells members and pending invitations apart for every address (and counts the seats), one inserts the
 * invitations, one links their groups (when any has groups), one writes their CREATED events and emails. The count is
 * the same for 1 address as for 100 (test/query-count.test.ts pins it).
 *
 * Order of the checks for each address: its input (BAD_USER_INPUT, FORBIDDEN/ROLE_ESCALATION, decided by the caller),
 * an earlier occurrence of the same address (CONFLICT/ALREADY_INVITED), the creation budgets (RATE_LIMITED), the
 * allowed domains (FORBIDDEN/DOMAIN_NOT_ALLOWED), membership and pending invitations (ALREADY_MEMBER,
 * ALREADY_INVITED), and last the seats, given out in input order to the addresses that passed everything else
 * (SEAT_LIMIT_REACHED for the rest).
 */
import { ConflictError, RateLimitedError, type AppError } from "../errors.js";
import type { Actor } from "../events/record.js";
import { recordEventsWithEmails } from "../events/record.js";
import { Prisma, type Invitation } from "../generated/prisma/client.js";
import { uuidv7 } from "../ids.js";
import type { RequestBudgets } from "../ratelimit.js";
import { addressChecks, domainAllowed, domainNotAllowed, seatLimitReached, seatsLeft, takenError } from "./lifecycle.js";
import { newToken } from "./token.js";

type Tx = Prisma.TransactionClient;

/** One address to invite, already normalised and checked by the caller (role, groups, metadata). */
export interface BulkItem {
  email: string;
  roleId: string;
  groupIds: readonly string[];
  metadata: Prisma.InputJsonObject | null;
}

/** What became of one address: its invitation and token, or why not. */
export type BulkOutcome = { invitation: Invitation; token: string; error?: undefined } | { error: AppError };

/**
 * Slots of `items` (undefined where the caller refused the input already) whose address appeared earlier in the
 * input, as ALREADY_INVITED: the first occurrence is the one invited. Marks them in `outcomes`.
 */
export function refuseRepeats(items: ReadonlyArray<BulkItem | undefined>, outcomes: Array<BulkOutcome | undefined>): void {
  const seen = new Set<string>();
  items.forEach((item, index) => {
    if (!item || outcomes[index]) return;
    if (seen.has(item.email)) {
      outcomes[index] = { error: new ConflictError("ALREADY_INVITED", `${item.email} appears earlier in this list.`) };
    }
    seen.add(item.email);
  });
}

/**
 * Spends the creation budgets (RATE_LIMIT_INVITATIONS_*) once per address still to be invited, in input order, like
 * createInvitation spends them once per call. Past a budget, that address and every later one are RATE_LIMITED
 * (addresses before it go on); the refused ones spend nothing more.
 */
export async function spendBudgets(
  budgets: RequestBudgets,
  userId: string,
  organizationId: string,
  items: ReadonlyArray<BulkItem | undefined>,
  outcomes: Array<BulkOutcome | undefined>,
): Promise<void> {
  let refused: RateLimitedError | undefined;
  for (let index = 0; index < items.length; index += 1) {
    if (!items[index] || outcomes[index]) continue;
    if (!refused) {
      try {
        await budgets.invitationSent(userId, organizationId);
        continue;
      } catch (error) {
        if (!(error instanceof RateLimitedError)) throw error;
        refused = error;
      }
    }
    outcomes[index] = { error: refused };
  }
}

/**
 * Creates the invitations of `items` that have no outcome yet, in the transaction `tx`, and fills in `outcomes`.
 * Every created invitation gets its CREATED event and email, as with createInvitation.
 */
export async function createMany(
  tx: Tx,
  actor: Actor,
  organizationId: string,
  items: ReadonlyArray<BulkItem | undefined>,
  outcomes: Array<BulkOutcome | undefined>,
  expiresAt: Date,
  now: Date,
): Promise<void> {
  const open = () => items.flatMap((item, index) => (item && !outcomes[index] ? [{ item, index }] : []));
  if (open().length === 0) return;

  // Locks and checks every open address at once (a refused domain's address too: it only retires what had expired).
  const { limits, states, seatsUsed } = await addressChecks(
    tx,
    organizationId,
    open().map(({ item }) => item.email),
    now,
  );
  for (const { item, index } of open()) {
    if (!domainAllowed(limits, item.email)) outcomes[index] = { error: domainNotAllowed(item.email) };
  }
  const candidates = open();
  if (candidates.length === 0) return;

  let free = seatsLeft(limits, seatsUsed);
  const chosen: Array<{ item: BulkItem; index: number; id: string; token: string; hash: string }> = [];
  for (const { item, index } of candidates) {
    const taken = takenError(item.email, states.get(item.email));
    if (taken) {
      outcomes[index] = { error: taken };
    } else if (free < 1) {
      outcomes[index] = { error: seatLimitReached(limits) };
    } else {
      free -= 1;
      chosen.push({ item, index, id: uuidv7(), ...newToken() });
    }
  }
  if (chosen.length === 0) return;

  const invitedById = actor.kind === "user" ? actor.id : null;
  const rows = await tx.invitation.createManyAndReturn({
    data: chosen.map(({ item, id, hash }) => ({
      id,
      organizationId,
      email: item.email,
      roleId: item.roleId,
      invitedById,
      metadata: item.metadata ?? undefined,
      tokenHash: hash,
      expiresAt,
      createdAt: now,
    })),
  });
  const byId = new Map(rows.map((row) => [row.id, row]));

  const links = chosen.flatMap(({ item, id }) => item.groupIds.map((groupId) => ({ groupId, id })));
  if (links.length > 0) {
    await tx.$executeRaw(Prisma.sql`
      INSERT INTO "_InvitationGroups" ("A", "B")
      SELECT * FROM unnest(${links.map((l) => l.groupId)}::uuid[], ${links.map((l) => l.id)}::uuid[])`);
  }

  const created = chosen.map(({ index, id, token }) => ({ index, invitation: byId.get(id)!, token }));
  await recordEventsWithEmails(
    tx,
    created.map(({ invitation, token }) => ({ type: "CREATED" as const, invitation, actor, occurredAt: now, token })),
  );
  for (const { index, invitation, token } of created) outcomes[index] = { invitation, token };
}

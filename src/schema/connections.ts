/** The ordering every list of the contract uses: newest first, ties by id (ids are UUIDv7, so they sort by time too). */
export const NEWEST_FIRST = [{ createdAt: "desc" as const }, { id: "desc" as const }];

/**
 * The demo cast of `npm run seed` and of GraphiQL's first visit. Their `sub` is the one `npm run token -- <email>`
 * gives by default, so `npm run token -- ada@example.com` signs in as the same Ada.
 */
export interface DemoUser {
  sub: string;
  email: string;
  name: string;
}

const demoUser = (email: string, name: string): DemoUser => ({ sub: `dev|${email}`, email, name });

export const DEMO_USERS = {
  ada: demoUser("ada@example.com", "Ada Lovelace"),
  grace: demoUser("grace@example.com", "Grace Hopper"),
  linus: demoUser("linus@example.com", "Linus Torvalds"),
  margaret: demoUser("margaret@example.com", "Margaret Hamilton"),
} as const;

/** Who GraphiQL signs in as in development: a member of one demo organization, invited to two others. */
export const GRAPHIQL_USER = DEMO_USERS.ada;

/**
 * GraphiQL for a first visit. In development, with the development secret, the page opens signed in as the demo user
 * (a fresh token in the Headers tab, signed at each page load) and with a query that works at once; after
 * `npm run seed` it shows her organization and the invitations waiting for her. Anywhere else (a configured
 * JWT_SECRET or JWKS, production) the page opens signed out: a token is never handed out there.
 */
import type { GraphiQLOptions, GraphiQLOptionsOrFactory } from "graphql-yoga";
import { signDevToken } from "../auth/token.js";
import type { Config } from "../config.js";
import { GRAPHIQL_USER } from "./users.js";

export const FIRST_VISIT_QUERY = /* GraphQL */ `# Welcome! In development this page is signed in
# as ${GRAPHIQL_USER.name}, a demo user (Headers tab below).
# \`npm run seed\` gives her an organization and
# invitations to explore. Run with ▶ or Ctrl-Enter.
query FirstVisit {
  viewer {
    name
    email
    memberships(first: 10) {
      edges {
        node { role { key } organization { name memberCount } }
      }
    }
  }
  pendingInvitations(first: 10) {
    totalCount
    edges {
      node {
        id
        organization { name }
        invitedBy { name }
        role { key }
        expiresAt
      }
    }
  }
}
`;

export function graphiqlOptions(config: Pick<Config, "jwt" | "nodeEnv">): GraphiQLOptionsOrFactory<Record<string, unknown>> {
  const base: GraphiQLOptions = { title: "Invitations API", defaultQuery: FIRST_VISIT_QUERY };
  const secret = config.jwt.secret;
  if (config.nodeEnv === "production" || !config.jwt.usingDevSecret || !secret) return base;
  return async () => {
    const token = await signDevToken(secret, { ...GRAPHIQL_USER, email_verified: true }, { expiresIn: "12h" });
    return { ...base, headers: JSON.stringify({ Authorization: `Bearer ${token}` }, null, 2) };
  };
}

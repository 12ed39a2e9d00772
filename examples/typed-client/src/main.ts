/**
 * Runs the flow against a running server and prints what it did:
 *   TOKEN=$(npm run --silent token -- owner@example.com Owner) npx tsx examples/typed-client/src/main.ts
 * Environment: TOKEN (required), API_URL (default http://localhost:4000/graphql), PERSISTED=1 to send document ids.
 */
import { GraphQLRequestError } from "./client.js";
import { runFlow } from "./flow.js";

const token = process.env.TOKEN;
if (!token) {
  process.stderr.write("Set TOKEN to a JWT, e.g. TOKEN=$(npm run --silent token -- owner@example.com Owner)\n");
  process.exit(64);
}
const suffix = Math.random().toString(36).slice(2, 8);
try {
  const result = await runFlow({
    url: process.env.API_URL ?? "http://localhost:4000/graphql",
    token,
    persisted: process.env.PERSISTED === "1",
    organizationName: `Example ${suffix}`,
    inviteeEmail: `invitee-${suffix}@example.com`,
  });
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
} catch (error) {
  if (error instanceof GraphQLRequestError) {
    process.stderr.write(`GraphQL error ${error.code ?? ""}${error.reason ? `/${error.reason}` : ""}: ${error.message}\n`);
    process.exit(1);
  }
  throw error;
}

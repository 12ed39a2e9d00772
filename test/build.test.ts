/**
 * `npm start` runs the compiled build (scripts/start.mjs -> dist/main.js), not tsx: it must serve like the sources
 * do, find its migrations from dist/, and rebuild itself when the sources are newer than the build.
 */
import { stat, utimes } from "node:fs/promises";
import { afterAll, describe, expect, it } from "vitest";
import { killAll, spawnServer } from "./helpers/processes.js";

afterAll(() => killAll());

describe("npm start (the compiled build)", () => {
  it("rebuilds a stale dist/main.js, applies the migrations and serves GraphQL", async () => {
    const old = new Date(Date.now() - 3_600_000);
    // Make the build look older than the sources, as after editing src/ without running `npm run build`.
    await stat("dist/main.js").then(
      () => utimes("dist/main.js", old, old),
      () => undefined,
    );
    const server = await spawnServer({ PGLITE_DATA_DIR: "memory://" }, { args: ["scripts/start.mjs"], freshDatabase: true });
    await server.waitFor("/ready", 200, 150_000);
    expect(server.stderr()).toContain("Building dist/main.js");
    expect((await stat("dist/main.js")).mtimeMs).toBeGreaterThan(old.getTime());
    const response = await fetch(`${server.url}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ query: "{ __typename }" }),
    });
    expect(await response.json()).toEqual({ data: { __typename: "Query" } });
    await server.stop();
  }, 180_000);
});

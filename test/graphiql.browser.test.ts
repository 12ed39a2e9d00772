/**
 * GraphiQL in a real headless Chromium: the page served on GET /graphql loads without any request leaving the
 * machine (no CDN), introspects the schema, and runs a query typed into its editor. In development it opens signed
 * in as the demo user with a first query that shows the seeded data (`npm run seed`).
 *
 * The first-visit screenshot goes to a temporary folder; GRAPHIQL_SCREENSHOT=docs/graphiql-first-visit.png also
 * writes it there (the README's picture). The seed's own checks live here too: the demo users are fixed, and on
 * PostgreSQL every test file of a run shares one database, so one file seeds.
 */
import { copyFile, mkdtemp, readFile, rm } from "node:fs/promises";
import { createServer as createHttpServer, type Server as HttpServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { loadConfig } from "../src/config.js";
import { signDevToken } from "../src/auth/token.js";
import { DEMO_ORGANIZATIONS, seedDemo, type SeedResult } from "../src/demo/seed.js";
import { DEMO_USERS, GRAPHIQL_USER } from "../src/demo/users.js";
import { createLogger } from "../src/logger.js";
import { createServer } from "../src/server.js";
import { startApp, TEST_SECRET, type TestApp } from "./helpers/app.js";
import { listen, type Listening } from "./helpers/http.js";

let app: TestApp;
let http: HttpServer;
let browser: Browser;
let base: string;

beforeAll(async () => {
  app = await startApp();
  http = createHttpServer(app.server);
  await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run"],
  });
});

afterAll(async () => {
  await browser?.close();
  await new Promise((resolve) => http?.close(resolve));
  await app?.close();
});

test("GraphiQL loads offline, introspects the schema and runs a query typed into the editor", async () => {
  const page = await browser.newPage();
  const outside: string[] = [];
  const graphqlPosts: string[] = [];
  page.on("request", (request) => {
    const url = new URL(request.url());
    if (!["127.0.0.1", "localhost"].includes(url.hostname) && url.protocol.startsWith("http")) outside.push(request.url());
    if (url.pathname === "/graphql" && request.method() === "POST") graphqlPosts.push(request.postData() ?? "");
  });

  await page.goto(`${base}/graphql`, { waitUntil: "load" });
  await page.waitForSelector(".graphiql-container", { timeout: 45_000 });
  await expect.poll(() => graphqlPosts.some((body) => body.includes("__schema")), { timeout: 45_000 }).toBe(true);

  // Replace the editor's content with a query and run it, once the editor shows its first-visit query (clearing it
  // any earlier would let that text arrive after ours).
  await expect.poll(() => page.locator(".graphiql-query-editor").innerText(), { timeout: 45_000 }).toContain("FirstVisit");
  const editor = page.locator(".graphiql-query-editor .graphiql-editor").first();
  await editor.click();
  await page.keyboard.press("Control+A");
  await page.keyboard.press("Delete");
  await page.keyboard.type("{ __typename }");
  // GraphiQL picks the operation to run from the editor after a short debounce: a click right after typing can
  // still name the first-visit operation ("Cannot infer operation"), so click again until the answer is ours.
  await expect
    .poll(
      async () => {
        const shown = (await page.locator(".graphiql-response").innerText()).replace(/\s+/g, "");
        if (!shown.includes('"__typename":"Query"')) await page.locator(".graphiql-execute-button").click();
        return shown;
      },
      { timeout: 45_000, interval: 1_000 },
    )
    .toContain('"__typename":"Query"');

  expect(outside).toEqual([]);
  await page.close();
}, 150_000);

describe("first visit in development", () => {
  // The development configuration: no JWT_SECRET or JWKS configured, so the server uses its development secret
  // (pinned to the test secret here) and GraphiQL may hand out a demo token.
  const development = { ...loadConfig({ NODE_ENV: "development", JWT_SECRET: TEST_SECRET }), nodeEnv: "development" as const };
  const devConfig = { ...development, jwt: { secret: TEST_SECRET, usingDevSecret: true } };
  let dev: Listening;
  let shots: string;
  let seeded: SeedResult;
  const seed = () => seedDemo({ config: devConfig, logger: createLogger("silent") });

  beforeAll(async () => {
    shots = await mkdtemp(join(tmpdir(), "graphiql-"));
    seeded = await seed();
    dev = await listen(createServer({ config: devConfig, logger: createLogger("silent"), isReady: () => true }));
  });
  afterAll(async () => {
    await dev?.close();
    await rm(shots, { recursive: true, force: true });
  });

  test("npm run seed: demo organizations, members and invitations in every state, once", async () => {
    const slugs = DEMO_ORGANIZATIONS.map((o) => o.slug);
    expect(seeded).toEqual({ created: slugs, alreadyThere: [] });

    const ada = await signDevToken(TEST_SECRET, { ...DEMO_USERS.ada });
    const seen = await app.ok(
      /* GraphQL */ `{
        viewer { memberships(first: 10) { edges { node { role { key } organization { id slug memberCount } } } } }
        pendingInvitations(first: 10) { edges { node { organization { slug } role { key } } } }
      }`,
      {},
      ada,
    );
    const own = seen.viewer.memberships.edges.map((e: any) => e.node);
    expect(own).toEqual([{ role: { key: "owner" }, organization: expect.objectContaining({ slug: "demo-analytical-engines", memberCount: 2 }) }]);
    expect(seen.pendingInvitations.edges.map((e: any) => e.node.organization.slug).sort()).toEqual(["demo-compilers", "demo-kernel-hackers"]);
    const listed = await app.ok(
      /* GraphQL */ `query ($id: ID!) { organization(id: $id) { invitations(first: 20) { edges { node { email status } } } } }`,
      { id: own[0].organization.id },
      ada,
    );
    expect(listed.organization.invitations.edges.map((e: any) => `${e.node.email} ${e.node.status}`).sort()).toEqual([
      "alan@example.com PENDING",
      "charles@example.com REVOKED",
      "grace@example.com ACCEPTED",
      "margaret@example.com PENDING",
    ]);

    expect(await seed()).toEqual({ created: [], alreadyThere: slugs });
    expect((await app.ok(`{ pendingInvitations { totalCount } }`, {}, ada)).pendingInvitations.totalCount).toBe(2);
  });

  const page = (url: string, config?: object) => fetch(url, { headers: { accept: "text/html" }, ...config }).then((r) => r.text());

  test("the page carries a demo token only with the development secret", async () => {
    expect(await page(dev.url)).toMatch(/Bearer ey[\w-]+\.[\w-]+\.[\w-]+/);
    expect(await page(dev.url)).toContain("query FirstVisit");
    // The test suite's server has a configured JWT_SECRET: its GraphiQL opens signed out, with the same first query.
    expect(await page(`${base}/graphql`)).not.toContain("Bearer ey");
    expect(await page(`${base}/graphql`)).toContain("query FirstVisit");
    const production = createServer({ config: { ...devConfig, nodeEnv: "production" }, logger: createLogger("silent"), isReady: () => true });
    const html = await (await production.fetch("http://localhost/graphql", { headers: { accept: "text/html" } })).text();
    expect(html).not.toContain("Bearer ey");
  });

  test("opens signed in as the demo user, runs the example query and shows the seeded data", async () => {
    // Tall enough for the whole answer: the result pane renders only the lines in view.
    const tab = await browser.newPage({ viewport: { width: 1440, height: 1700 } });
    const authorizations: string[] = [];
    tab.on("request", (request) => {
      if (new URL(request.url()).pathname === "/graphql" && request.method() === "POST") authorizations.push(request.headers().authorization ?? "");
    });
    await tab.goto(dev.url, { waitUntil: "load" });
    await tab.waitForSelector(".graphiql-container", { timeout: 45_000 });
    await expect.poll(() => tab.locator(".graphiql-query-editor").innerText(), { timeout: 45_000 }).toContain("FirstVisit");

    // No typing: the query is there on arrival, and the Headers tab holds the token.
    await tab.locator(".graphiql-execute-button").click();
    const response = () => tab.locator(".graphiql-response").innerText();
    await expect.poll(async () => (await response()).replace(/\s+/g, ""), { timeout: 45_000 }).toContain(`"email":"${GRAPHIQL_USER.email}"`);
    const shown = (await response()).replace(/\s+/g, "");
    expect(shown).toContain('"name":"AnalyticalEngines"');
    expect(shown).toContain('"totalCount":2');
    expect(shown).toContain('"name":"CompilersInc"');
    expect(shown).toContain('"name":"KernelHackers"');
    expect(shown).not.toContain('"errors"');
    expect(authorizations.at(-1)).toMatch(/^Bearer ey/);

    await tab.getByText("Headers", { exact: true }).click().catch(() => undefined);
    const file = join(shots, "graphiql-first-visit.png");
    await tab.screenshot({ path: file });
    const png = await readFile(file);
    expect(png.subarray(1, 4).toString()).toBe("PNG");
    expect(png.length).toBeGreaterThan(20_000);
    if (process.env.GRAPHIQL_SCREENSHOT) await copyFile(file, process.env.GRAPHIQL_SCREENSHOT);
    await tab.close();
  }, 150_000);
});

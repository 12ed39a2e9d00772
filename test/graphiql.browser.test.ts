/**
 * GraphiQL in a real headless Chromium: the page served on GET /graphql loads without any request leaving the
 * machine (no CDN), introspects the schema, and runs a query typed into its editor.
 */
import { createServer as createHttpServer, type Server as HttpServer } from "node:http";
import type { AddressInfo } from "node:net";
import { chromium, type Browser } from "playwright-core";
import { afterAll, beforeAll, expect, test } from "vitest";
import { startApp, type TestApp } from "./helpers/app.js";

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
  await page.waitForSelector(".graphiql-container", { timeout: 20_000 });
  await expect.poll(() => graphqlPosts.some((body) => body.includes("__schema")), { timeout: 20_000 }).toBe(true);

  // Replace the editor's content with a query and run it.
  const editor = page.locator(".graphiql-query-editor .graphiql-editor").first();
  await editor.click();
  await page.keyboard.press("Control+A");
  await page.keyboard.press("Delete");
  await page.keyboard.type("{ __typename }");
  await page.locator(".graphiql-execute-button").click();
  await expect.poll(async () => (await page.locator(".graphiql-response").innerText()).replace(/\s+/g, ""), { timeout: 20_000 }).toContain('"__typename":"Query"');

  expect(outside).toEqual([]);
  await page.close();
}, 90_000);

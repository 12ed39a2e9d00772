/**
 * The development /invite page in a real headless Chromium: the link logged by the outbox worker (development, no
 * mail server) opens a page showing the organization and the masked address; Accept makes the invitation ACCEPTED
 * and the membership exist, Decline makes it DECLINED; an unknown token shows a clear message. Also: names are
 * escaped, nothing is loaded from elsewhere, a form posted from another origin or without its check is refused, and
 * in production /invite does not exist.
 */
import { randomBytes } from "node:crypto";
import { chromium, type Browser, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { loadConfig } from "../src/config.js";
import { prisma } from "../src/db/client.js";
import { renderInvitationEmail } from "../src/events/email.js";
import { startOutboxWorker } from "../src/events/start.js";
import type { Worker } from "../src/events/worker.js";
import { createLogger } from "../src/logger.js";
import { createServer } from "../src/server.js";
import { startApp, TEST_SECRET, type TestApp, type TestUser } from "./helpers/app.js";
import { createOrg, invite, rawId, type TestOrg } from "./helpers/fixtures.js";
import { listen, type Listening } from "./helpers/http.js";

let app: TestApp;
let http: Listening;
let browser: Browser;
let worker: Worker;
const lines: string[] = [];
let owner: TestUser;
let org: TestOrg;

beforeAll(async () => {
  // The worker claims every due delivery of its database: on PostgreSQL, a database of this file's own.
  app = await startApp({ ownDatabase: true });
  http = await listen(app.server);
  const port = Number(new URL(http.base).port);
  // As the server starts it in development without SMTP_URL: the link is logged, and by default points here.
  worker = startOutboxWorker(
    { email: { mode: "log" }, outbox: { maxAttempts: 3, backoffMs: 1_000, pollMs: 500, leaseMs: 60_000 } },
    createLogger("info", (line) => lines.push(line)),
    port,
  );
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run"],
  });
  owner = await app.user({ name: `Olivia <b>Owner</b>` });
  org = await createOrg(app, owner, { name: `Acme <Rockets> & "Co" ${randomBytes(3).toString("hex")}` });
});

afterAll(async () => {
  await worker?.stop();
  await browser?.close();
  await http?.close();
  await app?.close();
});

/** The link the development log line gives for the invitation to `email`. */
async function loggedLink(email: string): Promise<string> {
  let link: string | undefined;
  await expect
    .poll(
      () => {
        for (const line of lines) {
          const parsed = JSON.parse(line) as { to?: string; devInvitationLink?: string };
          if (parsed.to === email) link = parsed.devInvitationLink;
        }
        return link;
      },
      { timeout: 30_000 },
    )
    .toBeDefined();
  return link!;
}

/** Opens `url` and records any request leaving the machine. */
async function open(url: string): Promise<{ page: Page; status: number | undefined; csp: string | undefined; outside: string[] }> {
  const page = await browser.newPage();
  const outside: string[] = [];
  page.on("request", (request) => {
    const { hostname, protocol } = new URL(request.url());
    if (protocol.startsWith("http") && !["127.0.0.1", "localhost"].includes(hostname)) outside.push(request.url());
  });
  const response = await page.goto(url, { waitUntil: "load" });
  return { page, status: response?.status(), csp: response?.headers()["content-security-policy"], outside };
}

const membership = (email: string) =>
  prisma.membership.findFirst({ where: { organizationId: rawId(org.id), user: { email } }, include: { role: true } });

test("the logged link opens the page; Accept makes the invitation ACCEPTED and the membership exist", async () => {
  const email = `jane-${randomBytes(3).toString("hex")}@acme.example`;
  const invitation = await invite(app, owner, org.id, email);
  const link = await loggedLink(email);
  expect(link).toBe(`http://localhost:${new URL(http.base).port}/invite?token=${invitation.token}`);

  const { page, status, csp, outside } = await open(link);
  expect(status).toBe(200);
  expect(csp).toContain("default-src 'none'");
  expect(await page.getByTestId("organization").innerText()).toBe(org.name);
  expect(await page.getByTestId("email").innerText()).toBe("j***@acme.example");
  expect(await page.getByTestId("status").innerText()).toBe("PENDING");
  // The names are text, not markup.
  expect(await page.locator("main").innerText()).toContain("Olivia <b>Owner</b>");
  expect(await page.locator("main b").count()).toBe(0);
  expect(await page.locator("main").innerText()).toContain("1 member");

  await Promise.all([page.waitForURL(/done=accepted/), page.getByRole("button", { name: "Accept" }).click()]);
  expect(await page.getByRole("status").innerText()).toContain("You accepted the invitation.");
  expect(await page.getByTestId("status").innerText()).toBe("ACCEPTED");
  expect(await page.getByRole("button", { name: "Accept" }).count()).toBe(0);
  expect(outside).toEqual([]);
  await page.close();

  const stored = await prisma.invitation.findUniqueOrThrow({ where: { id: rawId(invitation.id) } });
  expect(stored.status).toBe("ACCEPTED");
  expect((await membership(email))?.role.key).toBe("member");
});

test("Decline makes the invitation DECLINED and no membership", async () => {
  const email = `dan-${randomBytes(3).toString("hex")}@acme.example`;
  const invitation = await invite(app, owner, org.id, email);
  const { page } = await open(await loggedLink(email));
  await Promise.all([page.waitForURL(/done=declined/), page.getByRole("button", { name: "Decline" }).click()]);
  expect(await page.getByRole("status").innerText()).toContain("You declined the invitation.");
  expect(await page.getByTestId("status").innerText()).toBe("DECLINED");
  await page.close();
  expect((await prisma.invitation.findUniqueOrThrow({ where: { id: rawId(invitation.id) } })).status).toBe("DECLINED");
  expect(await membership(email)).toBeNull();
});

test("an unknown token shows a clear message", async () => {
  const { page, status } = await open(`${http.base}/invite?token=inv_${randomBytes(32).toString("base64url")}`);
  expect(status).toBe(404);
  expect(await page.locator("h1").innerText()).toBe("Invitation not found");
  expect(await page.getByRole("alert").innerText()).toContain("not valid");
  await page.close();
});

test("an answer that fails shows why, on the page", async () => {
  const email = `late-${randomBytes(3).toString("hex")}@acme.example`;
  const invitation = await invite(app, owner, org.id, email);
  const { page } = await open(`${http.base}/invite?token=${invitation.token}`);
  // Revoked while the page was open.
  await prisma.invitation.update({ where: { id: rawId(invitation.id) }, data: { status: "REVOKED", revokedAt: new Date() } });
  const [response] = await Promise.all([page.waitForResponse((r) => r.url().endsWith("/invite/accept")), page.getByRole("button", { name: "Accept" }).click()]);
  expect(response.status()).toBe(409);
  await page.waitForLoadState("load");
  expect(await page.getByRole("alert").innerText()).toMatch(/revoked/i);
  expect(await page.getByTestId("status").innerText()).toBe("REVOKED");
  await page.close();
});

describe("forms from elsewhere", () => {
  async function post(path: string, body: Record<string, string>, headers: Record<string, string> = {}) {
    const response = await fetch(`${http.base}${path}`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
      body: new URLSearchParams(body).toString(),
      redirect: "manual",
    });
    return { status: response.status, text: await response.text() };
  }
  const csrfOf = async (token: string) => /name="csrf" value="([^"]+)"/.exec(await (await fetch(`${http.base}/invite?token=${token}`)).text())![1]!;

  test("another origin, another site, or a wrong check is refused, and nothing changes", async () => {
    const email = `csrf-${randomBytes(3).toString("hex")}@acme.example`;
    const invitation = await invite(app, owner, org.id, email);
    const csrf = await csrfOf(invitation.token);
    expect((await post("/invite/accept", { token: invitation.token, csrf }, { origin: "http://evil.example" })).status).toBe(403);
    expect((await post("/invite/accept", { token: invitation.token, csrf }, { "sec-fetch-site": "cross-site" })).status).toBe(403);
    expect((await post("/invite/accept", { token: invitation.token, csrf: "forged" })).status).toBe(403);
    expect((await post("/invite/accept", { token: invitation.token })).status).toBe(403);
    expect((await prisma.invitation.findUniqueOrThrow({ where: { id: rawId(invitation.id) } })).status).toBe("PENDING");
    // The same form from this origin goes through.
    const ok = await post("/invite/decline", { token: invitation.token, csrf }, { origin: http.base });
    expect(ok.status).toBe(303);
    expect((await prisma.invitation.findUniqueOrThrow({ where: { id: rawId(invitation.id) } })).status).toBe("DECLINED");
  });
});

test("in production /invite does not exist", async () => {
  const config = loadConfig({ NODE_ENV: "production", JWT_SECRET: TEST_SECRET });
  const production = createServer({ config, logger: createLogger("silent"), isReady: () => true });
  const email = `prod-${randomBytes(3).toString("hex")}@acme.example`;
  const invitation = await invite(app, owner, org.id, email);
  expect((await production.fetch(`http://localhost/invite?token=${invitation.token}`)).status).toBe(404);
  const posted = await production.fetch("http://localhost/invite/accept", {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ token: invitation.token, csrf: "x" }).toString(),
  });
  expect(posted.status).toBe(404);
  expect((await prisma.invitation.findUniqueOrThrow({ where: { id: rawId(invitation.id) } })).status).toBe("PENDING");
});

test("the HTML invitation email, as Chromium renders it: names as text, the button's link, the expiry", async () => {
  const link = "http://localhost:4000/invite?token=inv_abc&x=1";
  const { html } = renderInvitationEmail({
    to: "jane@acme.example",
    organizationName: `Acme <img src=x onerror=alert(1)> & Co`,
    inviterName: `Ada <script>alert(1)</script>`,
    expiresAt: new Date("2026-12-07T14:00:00Z"),
    link,
  });
  const page = await browser.newPage();
  const requested: string[] = [];
  await page.route("**/*", (route) => {
    requested.push(route.request().url());
    return route.abort();
  });
  await page.setContent(html, { waitUntil: "load" });
  expect(await page.locator("h1").innerText()).toBe("Join Acme <img src=x onerror=alert(1)> & Co");
  expect(await page.locator("body").innerText()).toContain("Ada <script>alert(1)</script> invited you to join");
  expect(await page.locator("img, script").count()).toBe(0);
  const button = page.getByRole("link", { name: "View the invitation" });
  expect(await button.getAttribute("href")).toBe(link);
  expect(await button.isVisible()).toBe(true);
  expect(await page.locator("body").innerText()).toContain("The invitation expires on Mon, 7 Dec 2026, 14:00 UTC.");
  expect(requested).toEqual([]);
  await page.close();
});

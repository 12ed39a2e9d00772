/**
 * Renders the HTML invitation email in headless Chromium and writes docs/invitation-email.png, the picture in the
 * README: `npm run docs:email-screenshot` (needs Chromium: /usr/bin/chromium, or CHROMIUM_PATH). The email is the
 * one the server sends (src/events/email.ts), with sample names that show the escaping at work.
 */
import { writeFile } from "node:fs/promises";
import { chromium } from "playwright-core";
import { renderInvitationEmail } from "../src/events/email.js";

export const SAMPLE = {
  to: "jane@acme.example",
  organizationName: "Acme <Rockets> & Co",
  inviterName: "Ada Lovelace",
  expiresAt: new Date("2026-12-07T14:00:00Z"),
  link: "http://localhost:4000/invite?token=inv_3q2-7wFhV0pXbJk9sLmNoPqRsTuVwXyZ012345678ab",
};

const out = process.argv[2] ?? "docs/invitation-email.png";
const { html, subject } = renderInvitationEmail(SAMPLE);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run"],
});
try {
  const page = await browser.newPage({ viewport: { width: 640, height: 520 }, deviceScaleFactor: 1 });
  // Like a mail client: no network, the HTML as the message's part.
  await page.route("**/*", (route) => route.abort());
  await page.setContent(html, { waitUntil: "load" });
  const png = await page.screenshot({ fullPage: true });
  await writeFile(out, png);
  process.stdout.write(`wrote ${out} (${png.length} bytes): "${subject}"\n`);
} finally {
  await browser.close();
}

/**
 * Writes docs/configuration.md from src/config.ts; with --check, fails when the checked-in page differs; with
 * --print, prints it.
 */
import { readFile, writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { configurationMarkdown } from "../docs/configuration.js";

const target = fileURLToPath(new URL("../../docs/configuration.md", import.meta.url));
const page = configurationMarkdown();

if (process.argv.includes("--print")) {
  process.stdout.write(page);
} else if (process.argv.includes("--check")) {
  const current = await readFile(target, "utf8").catch(() => "");
  if (current !== page) {
    process.stderr.write("docs/configuration.md is out of date: run `npm run docs:config` and commit the result.\n");
    process.exit(1);
  }
  process.stdout.write("docs/configuration.md is current.\n");
} else {
  await writeFile(target, page);
  process.stdout.write(`wrote ${target}\n`);
}

/**
 * Prints the schema the code builds to schema.graphql; with --check, fails when the checked-in file differs.
 */
import { readFile, writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { printSchema } from "graphql";
import { schema } from "../schema/index.js";

const target = fileURLToPath(new URL("../../schema.graphql", import.meta.url));
const printed = `${printSchema(schema)}\n`;

if (process.argv.includes("--check")) {
  const current = await readFile(target, "utf8").catch(() => "");
  if (current !== printed) {
    process.stderr.write("schema.graphql is out of date: run `npm run schema:print` and commit the result.\n");
    process.exit(1);
  }
  process.stdout.write("schema.graphql is current.\n");
} else {
  await writeFile(target, printed);
  process.stdout.write(`wrote ${target}\n`);
}

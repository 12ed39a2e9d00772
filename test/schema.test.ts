/**
 * schema.graphql is the checked-in contract that clients generate code from: it must be exactly what the code
 * prints (`npm run schema:print` rewrites it).
 */
import { readFile } from "node:fs/promises";
import { printSchema } from "graphql";
import { describe, expect, it } from "vitest";
import { schema } from "../src/schema/index.js";

describe("schema.graphql", () => {
  it("is exactly the schema the code prints (run `npm run schema:print` after changing the schema)", async () => {
    const checkedIn = await readFile(new URL("../schema.graphql", import.meta.url), "utf8");
    const printed = `${printSchema(schema)}\n`;
    // toBe on the whole text: a diff of the two SDLs in the failure message shows what drifted.
    expect(printed).toBe(checkedIn);
  });
});

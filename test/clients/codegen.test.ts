/**
 * The example's generated files are committed (CI needs no generation step), so this fails when they no longer match
 * what GraphQL Code Generator makes from today's schema.graphql and documents: run `npm run codegen` and commit.
 */
import { readdir, readFile } from "node:fs/promises";
import { basename, resolve } from "node:path";
import { generate } from "@graphql-codegen/cli";
import { expect, it } from "vitest";
import config from "../../examples/typed-client/codegen.js";

const GENERATED = resolve("examples/typed-client/src/gql");

it("examples/typed-client/src/gql is what codegen generates from schema.graphql", async () => {
  // Generated in memory (writeOutput false), with the config's paths relative to the repository root, where vitest runs.
  const outputs = (await generate({ ...config, silent: true }, false)) as Array<{ filename: string; content: string }>;
  expect(outputs.map((o) => basename(o.filename))).toContain("persisted-documents.json");
  expect((await readdir(GENERATED)).sort()).toEqual(outputs.map((o) => basename(o.filename)).sort());
  const stale: string[] = [];
  for (const output of outputs) {
    if ((await readFile(resolve(output.filename), "utf8")) !== output.content) stale.push(output.filename);
  }
  expect(stale, "generated files are stale: run `npm run codegen` and commit the result").toEqual([]);
}, 120_000);

/**
 * The documentation keeps up with the code: every operation of schema.graphql and every error code and reason of
 * src/errors.ts is named in docs/api.md, every environment variable of src/config.ts is described in
 * docs/configuration.md, and nothing in the repository points outside it.
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { buildSchema } from "graphql";
import { describe, expect, it } from "vitest";
import { configurationMarkdown, configVariables, DESCRIPTIONS } from "../src/docs/configuration.js";

const read = (path: string) => readFileSync(new URL(`../${path}`, import.meta.url), "utf8");

/** Names a document mentions as code (`name`), so that a word in a sentence does not count. */
function codeSpans(markdown: string): Set<string> {
  return new Set([...markdown.matchAll(/`([^`\n]+)`/g)].flatMap((m) => [m[1]!, ...m[1]!.split(/[^A-Za-z0-9_:]+/)]));
}

/** The string literals of every exported `…Code` / `…Reason` union type and `…CODES` / `…REASONS` list in a source. */
export function errorNames(source: string): string[] {
  return [...source.matchAll(/export (?:type \w+(?:Code|Reason)|const \w*(?:CODES|REASONS))\s*=([^;]+);/g)].flatMap((m) =>
    [...m[1]!.matchAll(/"([A-Z_]+)"/g)].map((s) => s[1]!),
  );
}

describe("docs/api.md", () => {
  const documented = codeSpans(read("docs/api.md"));

  it("names every query, mutation and subscription of schema.graphql", () => {
    const schema = buildSchema(read("schema.graphql"));
    const operations = [schema.getQueryType(), schema.getMutationType(), schema.getSubscriptionType()].flatMap((type) =>
      type ? Object.keys(type.getFields()) : [],
    );
    expect(operations.length).toBeGreaterThan(10);
    expect(operations.filter((name) => !documented.has(name))).toEqual([]);
  });

  it("names every error code and reason of src/errors.ts", () => {
    const names = errorNames(read("src/errors.ts"));
    expect(names).toContain("INTERNAL_SERVER_ERROR");
    expect(names).toContain("ROLE_ESCALATION");
    expect(names.filter((name) => !documented.has(name))).toEqual([]);
  });

  it("the checks see a missing name", () => {
    expect(codeSpans("`createInvitation` and createGroup").has("createGroup")).toBe(false);
    expect(errorNames('export type ErrorCode =\n  | "A_CODE"\n  | "B";\nexport type X = "NOPE";')).toEqual(["A_CODE", "B"]);
    expect(errorNames('export const ERROR_CODES = [\n  "C_CODE",\n] as const;\nexport type ErrorCode = (typeof ERROR_CODES)[number];')).toEqual(["C_CODE"]);
  });
});

describe("docs/configuration.md", () => {
  const page = read("docs/configuration.md");

  it("names every variable src/config.ts parses", () => {
    const variables = configVariables();
    expect(variables).toEqual(expect.arrayContaining(["PORT", "DATABASE_URL", "METRICS_PORT"]));
    const documented = codeSpans(page);
    expect(variables.filter((name) => !documented.has(name))).toEqual([]);
  });

  it("describes every variable (add the missing ones to src/docs/configuration.ts)", () => {
    expect(configVariables().filter((name) => !DESCRIPTIONS[name])).toEqual([]);
  });

  it("is what `npm run docs:config` writes today", () => {
    expect(page, "docs/configuration.md is out of date: run `npm run docs:config`").toBe(configurationMarkdown());
  });
});

describe("the repository stands alone", () => {
  it("no tracked file refers to the workspace outside the repository", () => {
    const files = execFileSync("git", ["ls-files"], { cwd: new URL("..", import.meta.url), encoding: "utf8" })
      .split("\n")
      .filter((file) => file && !file.startsWith("src/generated/") && file !== "package-lock.json");
    const offenders = files.filter((file) => /\.\.\/shared\/|\/work\/shared|\bshared\/(API|PLATFORM|STYLE)\.md/.test(read(file)));
    expect(offenders).toEqual([]);
  });
});

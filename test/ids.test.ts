import { expect, test } from "vitest";
import { uuidv7 } from "../src/ids.js";

test("uuidv7 ids are valid version-7 UUIDs that increase within one millisecond", () => {
  const now = Date.now() + 10_000;
  const ids = Array.from({ length: 50 }, () => uuidv7(now));
  for (const id of ids) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  expect([...ids].sort()).toEqual(ids);
  expect(new Set(ids).size).toBe(ids.length);
});

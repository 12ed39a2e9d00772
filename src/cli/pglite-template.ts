/**
 * Writes dist/pglite-template.tar (and .json): the migrated, empty PGlite data directory a first start loads
 * instead of running initdb and every migration (src/db/template.ts). Run by `npm run build`.
 */
import { TEMPLATE_FILE, writeTemplate } from "../db/template.js";

export async function main(): Promise<string> {
  await writeTemplate();
  return TEMPLATE_FILE;
}

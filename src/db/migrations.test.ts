import { expect, test } from "bun:test";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { MIGRATIONS } from "./migrations";

test("every sql/ file is listed once, in order, numbered from 1 without gaps", () => {
  const files = readdirSync(join(import.meta.dir, "../../sql")).filter((f) => f.endsWith(".sql")).sort();
  expect(MIGRATIONS.map((m) => m.name)).toEqual(files);
  MIGRATIONS.forEach((m, i) => {
    expect(m.version).toBe(i + 1);
    expect(m.name.startsWith(String(i + 1).padStart(4, "0") + "_")).toBe(true);
    expect(m.text.length).toBeGreaterThan(0);
  });
});

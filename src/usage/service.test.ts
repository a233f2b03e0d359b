import { expect, test } from "bun:test";
import { csvField, toCsv, usageWindow } from "./service";
import { quotaLimits, usageQuery } from "./model";

test("usageWindow: whole hours; default this calendar month (UTC) up to now", () => {
  const now = Date.parse("2026-03-10T12:34:56Z");
  const d = usageWindow({}, now);
  expect(d.from.toISOString()).toBe("2026-03-01T00:00:00.000Z");
  expect(d.to.toISOString()).toBe("2026-03-10T13:00:00.000Z");
  const w = usageWindow({ from: "2026-03-09T10:15:00+02:00", to: "2026-03-09T12:00:00Z" }, now);
  expect([w.from.toISOString(), w.to.toISOString()]).toEqual(["2026-03-09T08:00:00.000Z", "2026-03-09T12:00:00.000Z"]);
  expect(() => usageWindow({ from: "2026-03-09T12:00:00Z", to: "2026-03-09T12:00:00Z" }, now)).toThrow(/before/);
  expect(() => usageWindow({ from: "2024-01-01T00:00:00Z" }, now)).toThrow(/400 days/);
});

test("csvField: quoting and spreadsheet formulas neutralised", () => {
  expect(csvField(null)).toBe("");
  expect(csvField(1.5)).toBe("1.5");
  expect(csvField("plain")).toBe("plain");
  expect(csvField('a,"b"')).toBe('"a,""b"""');
  expect(csvField("=HYPERLINK(1)")).toBe("'=HYPERLINK(1)");
  expect(csvField("-1+1")).toBe("'-1+1");
});

test("toCsv: header then one CRLF line per row", () => {
  const figures = { cpu_seconds: 1.5, memory_limit_mb_hours: 2, memory_mb_hours: 1, net_rx_bytes: 10, net_tx_bytes: 20, build_minutes: 0.5, container_hours: 1 };
  const csv = toCsv({
    from: "",
    to: "",
    rows: [{ hour: "2026-03-10T12:00:00.000Z", project_id: "p", project_name: null, owner_id: "u", ...figures }],
    projects: [],
    total: figures,
  });
  expect(csv).toBe(
    "hour,project_id,project_name,owner_id,cpu_seconds,memory_limit_mb_hours,memory_mb_hours,net_rx_bytes,net_tx_bytes,build_minutes,container_hours\r\n" +
      "2026-03-10T12:00:00.000Z,p,,u,1.5,2,1,10,20,0.5,1\r\n",
  );
});

test("shapes: usage query and quota limits", () => {
  expect(usageQuery.parse({})).toEqual({ format: "json" });
  expect(usageQuery.safeParse({ format: "xml" }).success).toBe(false);
  expect(usageQuery.safeParse({ project: "x" }).success).toBe(false);
  expect(quotaLimits.parse({ max_projects: 3 })).toEqual({ max_projects: 3, max_app_memory_mb: null, max_total_memory_mb: null, max_concurrent_builds: null });
  expect(quotaLimits.safeParse({ max_projects: 1.5 }).success).toBe(false);
  expect(quotaLimits.safeParse({ max_projects: -1 }).success).toBe(false);
});

/** Usage: per project for a chosen month, as charts (per day) and a table, with a CSV download. */
import { useEffect } from "preact/hooks";
import type { UsageFigures } from "../api";
import { Chart, bytes, short } from "../components/Chart";
import { Alert, Loading, Section, Select, useTitle } from "../components/ui";
import { csvUrl, daily, loadUsage, month, monthOptions, report, usageError } from "../models/usage";

const COLORS = ["#1c64c4", "#7a3fb8", "#18794e", "#b35c00", "#c0392b", "#2c7a7b", "#8a6d00", "#5b6770"];
const num = (v: number, digits = 1) => v.toLocaleString(undefined, { maximumFractionDigits: digits });
const hours = (v: number) => `${short(v)} h`;

function Cells({ f }: { f: UsageFigures }) {
  return (
    <>
      <td data-label="CPU hours">{num(f.cpu_seconds / 3600, 2)}</td>
      <td data-label="Memory (GiB·h used / held)">
        {num(f.memory_mb_hours / 1024, 2)} / {num(f.memory_limit_mb_hours / 1024, 2)}
      </td>
      <td data-label="Network in / out">
        {bytes(f.net_rx_bytes)} / {bytes(f.net_tx_bytes)}
      </td>
      <td data-label="Build minutes">{num(f.build_minutes)}</td>
      <td data-label="Container hours">{num(f.container_hours, 2)}</td>
    </>
  );
}

export function UsagePage() {
  useTitle("Usage");
  useEffect(() => void loadUsage(), []);
  const r = report.value;
  const d = daily.value;
  return (
    <>
      <div class="page-head">
        <h1>Usage</h1>
      </div>
      <div class="toolbar">
        <Select id="usage-month" label="Month (UTC)" value={month.value} options={monthOptions()} onChange={(e) => void loadUsage(e.currentTarget.value)} />
        <a class="btn plain" href={csvUrl.value} download data-native>
          Download CSV
        </a>
      </div>
      <Alert>{usageError.value}</Alert>
      {!r ? (
        !usageError.value && <Loading what="usage" />
      ) : r.projects.length === 0 ? (
        <div class="card empty">
          <p>No usage recorded in this month.</p>
        </div>
      ) : (
        <>
          {d && (
            <Section title="Per day" id="usage-charts">
              <div class="charts">
                <Chart title="CPU hours per day" t={d.t} series={d.projects.map((p, i) => ({ label: p.name, values: p.cpu, color: COLORS[i % COLORS.length]! }))} format={hours} />
                <Chart
                  title="Memory used per day (GiB·hours)"
                  t={d.t}
                  series={d.projects.map((p, i) => ({ label: p.name, values: p.mem, color: COLORS[i % COLORS.length]! }))}
                  format={short}
                />
              </div>
            </Section>
          )}
          <section class="card flush" aria-labelledby="usage-table-h">
            <h2 id="usage-table-h" class="pad">
              Per project
            </h2>
            <table class="table responsive" aria-label="Usage per project">
              <thead>
                <tr>
                  <th scope="col">Project</th>
                  <th scope="col">CPU hours</th>
                  <th scope="col">Memory (GiB·h used / held)</th>
                  <th scope="col">Network in / out</th>
                  <th scope="col">Build minutes</th>
                  <th scope="col">Container hours</th>
                </tr>
              </thead>
              <tbody>
                {r.projects.map((p) => (
                  <tr key={p.project_id}>
                    <td data-label="Project" class="strong">
                      {p.project_name ? <a href={`/projects/${p.project_id}`}>{p.project_name}</a> : `${p.project_id.slice(0, 8)} (deleted)`}
                    </td>
                    <Cells f={p} />
                  </tr>
                ))}
              </tbody>
              <tfoot>
                <tr>
                  <th scope="row">Total</th>
                  <Cells f={r.total} />
                </tr>
              </tfoot>
            </table>
          </section>
        </>
      )}
    </>
  );
}

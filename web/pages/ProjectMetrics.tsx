/** A project's Metrics tab: CPU, memory and network over 1 h, 24 h, 7 d or 30 d, scaled to its limits. */
import { useEffect } from "preact/hooks";
import type { Project } from "../api";
import { Chart, bytes, percent, rate } from "../components/Chart";
import { Alert, Loading } from "../components/ui";
import { RANGES, loadProjectMetrics, projectMetrics, projectMetricsError, projectMetricsLoading, projectRange } from "../models/metrics";

export function MetricsTab({ p }: { p: Project }) {
  useEffect(() => {
    projectMetrics.value = null;
    void loadProjectMetrics(p.id);
  }, [p.id]);
  const m = projectMetrics.value?.project_id === p.id ? projectMetrics.value : null;
  return (
    <section class="card" aria-labelledby="metrics-h">
      <div class="section-head">
        <h2 id="metrics-h">Metrics</h2>
        <div class="range" role="group" aria-label="Time range">
          {RANGES.map(([r, label]) => (
            <button
              key={r}
              type="button"
              class={`btn small ${projectRange.value === r ? "primary" : "plain"}`}
              aria-pressed={projectRange.value === r ? "true" : "false"}
              onClick={() => void loadProjectMetrics(p.id, r)}
            >
              {label}
            </button>
          ))}
        </div>
      </div>
      <Alert>{projectMetricsError.value}</Alert>
      {!m ? (
        !projectMetricsError.value && <Loading what="metrics" />
      ) : (
        <div class="charts" aria-busy={projectMetricsLoading.value ? "true" : undefined}>
          <Chart
            title={`CPU (100% = one core, limit ${m.limits.cpus} CPU)`}
            t={m.t}
            series={[
              { label: "Average", values: m.series.cpu_percent, color: "#1c64c4" },
              { label: "Peak", values: m.series.cpu_percent_max, color: "#8fb3e6" },
            ]}
            format={percent}
            max={m.limits.cpus * 100}
          />
          <Chart
            title={`Memory (limit ${bytes(m.limits.memory_bytes)})`}
            t={m.t}
            series={[
              { label: "Used", values: m.series.mem_bytes, color: "#7a3fb8" },
              { label: "Peak", values: m.series.mem_bytes_max, color: "#c3a3e6" },
            ]}
            format={bytes}
            max={m.limits.memory_bytes}
          />
          <Chart
            title="Network"
            t={m.t}
            series={[
              { label: "Received", values: m.series.net_rx_bytes_per_s, color: "#18794e" },
              { label: "Sent", values: m.series.net_tx_bytes_per_s, color: "#b35c00" },
            ]}
            format={rate}
          />
        </div>
      )}
      {m && (
        <p class="muted small">
          {m.source === "raw" ? "10-second samples" : m.source === "minute" ? "1-minute averages" : "1-hour averages"}, one point every {m.step} s. In this range: {Math.round(m.totals.cpu_seconds)} CPU
          seconds, {bytes(m.totals.net_rx_bytes)} received, {bytes(m.totals.net_tx_bytes)} sent.
        </p>
      )}
    </section>
  );
}

/** One worker (admin): live host charts (every 10 s), the containers on it, drain and undrain. */
import { useEffect } from "preact/hooks";
import { Chart, bytes, percent } from "../components/Chart";
import { ActionButton, Alert, Loading, Status, Time, useTitle } from "../components/ui";
import { drainAction, setDraining, watchWorker, workerMetrics, workerMetricsError } from "../models/metrics";
import { loadWorkers, workers } from "../models/workers";

export function WorkerDetailPage({ id }: { id: string }) {
  const w = workers.value?.find((x) => x.id === id) ?? null;
  useTitle(w ? `Worker ${w.name}` : "Worker");
  useEffect(() => {
    if (!workers.value) void loadWorkers();
    return watchWorker(id);
  }, [id]);
  const m = workerMetrics.value;
  if (!workers.value) return <Loading what="worker" />;
  if (!w)
    return (
      <div class="card empty">
        <h1>Worker not found</h1>
        <a href="/workers">Back to workers</a>
      </div>
    );
  const diskTotal = m?.latest?.disk_total_bytes ?? undefined;
  const memTotal = m?.latest?.mem_total_bytes ?? undefined;
  return (
    <>
      <p class="crumbs">
        <a href="/workers">Workers</a>
      </p>
      <div class="page-head">
        <h1>
          {w.name} <Status status={w.status} /> {w.draining && <span class="status s-draining">draining</span>}
        </h1>
        <div class="row-actions">
          {w.draining ? (
            <ActionButton act={drainAction} label="Undrain" busyLabel="Undraining…" run={() => setDraining(w.id, false)} />
          ) : (
            <ActionButton act={drainAction} kind="danger" label="Drain" busyLabel="Draining…" run={() => setDraining(w.id, true)} />
          )}
        </div>
      </div>
      <Alert>{drainAction.error.value}</Alert>
      <p class="muted">
        {w.draining ? "Draining: no new deployments are placed here." : "Accepting deployments."} Last heartbeat <Time iso={w.last_heartbeat} />.
      </p>
      <Alert>{workerMetricsError.value}</Alert>
      {!m ? (
        !workerMetricsError.value && <Loading what="metrics" />
      ) : (
        <section class="card" aria-labelledby="host-h">
          <h2 id="host-h">Host, last hour</h2>
          <div class="charts">
            <Chart title="CPU" t={m.t} series={[{ label: "CPU", values: m.series.cpu_percent, color: "#1c64c4" }]} format={percent} max={100} />
            <Chart title="Memory" t={m.t} series={[{ label: "Used", values: m.series.mem_used_bytes, color: "#7a3fb8" }]} format={bytes} max={memTotal} />
            <Chart title="Disk" t={m.t} series={[{ label: "Used", values: m.series.disk_used_bytes, color: "#b35c00" }]} format={bytes} max={diskTotal} />
          </div>
        </section>
      )}
      {m && (
        <section class="card flush" aria-labelledby="containers-h">
          <h2 id="containers-h" class="pad">
            Containers
          </h2>
          {m.containers.length === 0 ? (
            <p class="muted pad">No containers sampled here in the last minute.</p>
          ) : (
            <table class="table responsive" aria-label="Containers on this worker">
              <thead>
                <tr>
                  <th scope="col">Project</th>
                  <th scope="col">CPU</th>
                  <th scope="col">Memory</th>
                  <th scope="col">Restarts</th>
                  <th scope="col">Sampled</th>
                </tr>
              </thead>
              <tbody>
                {m.containers.map((c) => (
                  <tr key={c.deployment_id}>
                    <td data-label="Project">
                      <a href={`/projects/${c.project_id}`}>{c.project_name ?? c.project_id.slice(0, 8)}</a>
                    </td>
                    <td data-label="CPU">{percent(c.cpu_percent)}</td>
                    <td data-label="Memory">
                      {bytes(c.mem_bytes)} / {bytes(c.mem_limit_bytes)}
                    </td>
                    <td data-label="Restarts">{c.restarts}</td>
                    <td data-label="Sampled">
                      <Time iso={c.at} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </section>
      )}
    </>
  );
}

/** Workers (admin): status and heartbeat, address, memory allocated of capacity, containers. */
import { useEffect } from "preact/hooks";
import { Alert, Loading, Status, Time, useTitle } from "../components/ui";
import { loadWorkers, workers, workersError } from "../models/workers";

export function WorkersPage() {
  useTitle("Workers");
  useEffect(() => void loadWorkers(), []);
  const list = workers.value;
  return (
    <>
      <div class="page-head">
        <h1>Workers</h1>
      </div>
      <Alert>{workersError.value}</Alert>
      {!list ? (
        !workersError.value && <Loading what="workers" />
      ) : list.length === 0 ? (
        <div class="card empty">
          <p>
            No workers yet. Start <code>wisehosting-agent</code> on a machine with podman, with <code>WH_HUB_URL</code> and the cluster secret (see the
            README).
          </p>
        </div>
      ) : (
        <div class="card flush">
          <table class="table responsive" aria-label="Workers">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Status</th>
                <th scope="col">Last heartbeat</th>
                <th scope="col">Address</th>
                <th scope="col">Memory</th>
                <th scope="col">Containers</th>
              </tr>
            </thead>
            <tbody>
              {list.map((w) => {
                const pct = w.capacity_mb > 0 ? Math.min(100, Math.round((w.allocated_mb / w.capacity_mb) * 100)) : 0;
                return (
                  <tr key={w.id}>
                    <td data-label="Name" class="strong">
                      <a href={`/workers/${w.id}`}>{w.name}</a>
                      {w.draining && <span class="status s-draining">draining</span>}
                    </td>
                    <td data-label="Status">
                      <Status status={w.status} />
                    </td>
                    <td data-label="Last heartbeat">
                      <Time iso={w.last_heartbeat} />
                    </td>
                    <td data-label="Address" class="mono">
                      {w.address}
                    </td>
                    <td data-label="Memory" class="mem">
                      <div
                        class={`bar ${pct >= 90 ? "hot" : ""}`}
                        role="meter"
                        aria-valuemin={0}
                        aria-valuemax={w.capacity_mb}
                        aria-valuenow={w.allocated_mb}
                        aria-label={`Memory of ${w.name}`}
                        aria-valuetext={`${w.allocated_mb} of ${w.capacity_mb} MB allocated`}
                      >
                        <div class="bar-fill" style={{ width: `${pct}%` }} />
                      </div>
                      <span class="muted small">
                        {w.allocated_mb} / {w.capacity_mb} MB
                      </span>
                    </td>
                    <td data-label="Containers">{w.containers_running}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}

import { expect, test } from "bun:test";
import {
  existsArgs,
  logsArgs,
  logsOnceArgs,
  parsePort,
  parsePs,
  portArgs,
  psArgs,
  psByNameArgs,
  publishSpec,
  restartArgs,
  rmArgs,
  runArgs,
  startArgs,
  stopArgs,
} from "./containers";

const spec = {
  name: "wh-d1",
  image: "localhost/wh/app:d1",
  labels: { project: "p1", deployment: "d1", worker: "w1" },
  memoryMb: 256,
  cpus: 0.5,
  envFile: "/state/env/d1.env",
  advertiseAddr: "10.0.0.5",
  port: 8080,
};

test("runArgs: labels, limits, hardening, env file, published port, `--` before the image", () => {
  expect(runArgs(spec)).toEqual([
    "podman",
    "run",
    "-d",
    "--name",
    "wh-d1",
    "--label",
    "wh.project=p1",
    "--label",
    "wh.deployment=d1",
    "--label",
    "wh.worker=w1",
    "--memory",
    "256m",
    "--memory-swap",
    "256m",
    "--cpus",
    "0.5",
    "--pids-limit",
    "256",
    "--security-opt",
    "no-new-privileges",
    "--cap-drop",
    "ALL",
    "--cap-add",
    "CHOWN",
    "--cap-add",
    "SETUID",
    "--cap-add",
    "SETGID",
    "--cap-add",
    "NET_BIND_SERVICE",
    "--init",
    "--restart",
    "unless-stopped",
    "--log-opt",
    "max-size=10mb",
    "--env-file",
    "/state/env/d1.env",
    "-e",
    "PORT=8080",
    "-p",
    "10.0.0.5::8080",
    "--",
    "localhost/wh/app:d1",
  ]);
});

test("publishSpec brackets IPv6", () => {
  expect(publishSpec("127.0.0.1", 3000)).toBe("127.0.0.1::3000");
  expect(publishSpec("fd00::5", 3000)).toBe("[fd00::5]::3000");
  expect(publishSpec("127.0.0.1", 3000, 41000)).toBe("127.0.0.1:41000:3000");
  expect(publishSpec("fd00::5", 3000, 41000)).toBe("[fd00::5]:41000:3000");
});

test("small builders", () => {
  expect(portArgs("wh-d1", 8080)).toEqual(["podman", "port", "--", "wh-d1", "8080/tcp"]);
  expect(portArgs("wh-d1")).toEqual(["podman", "port", "--", "wh-d1"]);
  expect(stopArgs("wh-d1")).toEqual(["podman", "stop", "--ignore", "--time", "10", "--", "wh-d1"]);
  expect(stopArgs("wh-d1", 3)).toEqual(["podman", "stop", "--ignore", "--time", "3", "--", "wh-d1"]);
  expect(startArgs("wh-d1")).toEqual(["podman", "start", "--", "wh-d1"]);
  expect(restartArgs("wh-d1", 5)).toEqual(["podman", "restart", "--time", "5", "--", "wh-d1"]);
  expect(rmArgs("wh-d1")).toEqual(["podman", "rm", "--force", "--ignore", "--volumes", "--time", "10", "--", "wh-d1"]);
  expect(existsArgs("wh-d1")).toEqual(["podman", "container", "exists", "--", "wh-d1"]);
  expect(psArgs("worker-1")).toEqual(["podman", "ps", "--all", "--filter", "label=wh.worker=worker-1", "--format", "json"]);
  expect(psByNameArgs("wh-d1")).toEqual(["podman", "ps", "--all", "--filter", "name=^wh-d1$", "--format", "json"]);
  expect(logsArgs("wh-d1")).toEqual(["podman", "logs", "--follow", "--", "wh-d1"]);
  expect(logsOnceArgs("wh-d1")).toEqual(["podman", "logs", "--", "wh-d1"]);
  expect(logsArgs("wh-d1", new Date("2026-01-02T03:04:05.678Z"))).toEqual([
    "podman",
    "logs",
    "--follow",
    "--since",
    "2026-01-02T03:04:05.678Z",
    "--",
    "wh-d1",
  ]);
});

// Trimmed from real `podman ps -a --format json` output of podman 4.3.1.
const PS = JSON.stringify([
  {
    AutoRemove: false,
    Command: ["/bin/busybox", "httpd"],
    Exited: false,
    Id: "002cb32f1c480c28001fcec1e92ec00685fc0ad5cdb010a03e5b2554e02a124d",
    Image: "localhost/wh/bt:1",
    Labels: { "io.buildah.version": "1.28.2", "wh.deployment": "d", "wh.project": "p", "wh.worker": "w" },
    Names: ["wh-d"],
    Ports: [{ host_ip: "127.0.0.1", container_port: 8080, host_port: 35623, range: 1, protocol: "tcp" }],
    State: "running",
    Status: "Up 2 seconds ago",
  },
  {
    Id: "aaaa",
    Labels: { "wh.deployment": "e", "wh.project": "p", "wh.worker": "w" },
    Names: ["wh-e"],
    Ports: null,
    State: "exited",
  },
  { Id: "bbbb", Labels: null, Names: ["someone-else"], State: "running" },
  { Id: "cccc", Labels: { "wh.worker": "w" }, Names: ["half-labelled"], State: "running" },
]);

test("parsePs maps podman's JSON to reports and skips unlabelled containers", () => {
  expect(parsePs(PS)).toEqual([
    {
      container_id: "002cb32f1c480c28001fcec1e92ec00685fc0ad5cdb010a03e5b2554e02a124d",
      name: "wh-d",
      project_id: "p",
      deployment_id: "d",
      state: "running",
      host_port: 35623,
    },
    { container_id: "aaaa", name: "wh-e", project_id: "p", deployment_id: "e", state: "exited", host_port: null },
  ]);
  expect(parsePs("[]")).toEqual([]);
  expect(parsePs("\n")).toEqual([]);
  expect(() => parsePs("not json")).toThrow();
});

test("parsePort reads both output forms", () => {
  expect(parsePort("127.0.0.1:35623\n")).toBe(35623);
  expect(parsePort("8080/tcp -> 127.0.0.1:33385\n")).toBe(33385);
  expect(parsePort("8080/tcp -> [::1]:40000\n")).toBe(40000);
  expect(parsePort("0.0.0.0:1\n0.0.0.0:2\n")).toBe(1);
  expect(parsePort("")).toBeNull();
  expect(parsePort("127.0.0.1:0")).toBeNull();
  expect(parsePort("127.0.0.1:99999")).toBeNull();
  expect(parsePort("Error: no such container")).toBeNull();
});

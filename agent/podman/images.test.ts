import { expect, test } from "bun:test";
import { buildArgs, cpuQuota, imageIdArgs, imagesOfDeploymentArgs, parseImageNames, rmiArgs, untagArgs } from "./images";

test("buildArgs: limits, file, tag, `--` before the context", () => {
  expect(
    buildArgs({
      tag: "localhost/wh/app:d1",
      contextDir: "/work/wh-clone-d1-x/src",
      containerfile: "/work/wh-clone-d1-x/src/Containerfile",
      memoryMb: 1024,
      cpus: 1,
    }),
  ).toEqual([
    "podman",
    "build",
    "--pull=missing",
    "--force-rm",
    "--memory",
    "1024m",
    "--memory-swap",
    "1024m",
    "--cpu-period",
    "100000",
    "--cpu-quota",
    "100000",
    "-f",
    "/work/wh-clone-d1-x/src/Containerfile",
    "-t",
    "localhost/wh/app:d1",
    "--",
    "/work/wh-clone-d1-x/src",
  ]);
});

test("buildArgs: build-time variables by name only, values never in argv", () => {
  const argv = buildArgs({
    tag: "localhost/wh/app:d1",
    contextDir: "/w/src",
    containerfile: "/w/src/Containerfile",
    memoryMb: 512,
    cpus: 0.5,
    buildArgNames: ["GREETING", "NPM_TOKEN"],
  });
  expect(argv).toEqual([
    "podman",
    "build",
    "--pull=missing",
    "--force-rm",
    "--memory",
    "512m",
    "--memory-swap",
    "512m",
    "--cpu-period",
    "100000",
    "--cpu-quota",
    "50000",
    "--build-arg",
    "GREETING",
    "--build-arg",
    "NPM_TOKEN",
    "-f",
    "/w/src/Containerfile",
    "-t",
    "localhost/wh/app:d1",
    "--",
    "/w/src",
  ]);
  expect(argv.some((a) => /^[A-Z_][A-Z0-9_]*=/.test(a))).toBe(false);
});

test("buildArgs: nothing that defeats the layer cache", () => {
  const argv = buildArgs({ tag: "t", contextDir: "/c", containerfile: "/c/Containerfile", memoryMb: 1, cpus: 1 });
  for (const flag of ["--no-cache", "--layers=false", "--squash", "--squash-all", "--pull=always", "--pull"]) expect(argv).not.toContain(flag);
});

test("cpuQuota", () => {
  expect(cpuQuota(1)).toBe(100_000);
  expect(cpuQuota(2.5)).toBe(250_000);
  expect(cpuQuota(0.5)).toBe(50_000);
  expect(cpuQuota(0.001)).toBe(1000); // the kernel's minimum
});

test("image cleanup builders", () => {
  expect(imagesOfDeploymentArgs("d1")).toEqual(["podman", "images", "--format", "{{.Repository}}:{{.Tag}}", "--filter", "reference=localhost/wh/*:d1"]);
  expect(rmiArgs("localhost/wh/app:d1")).toEqual(["podman", "rmi", "--ignore", "--", "localhost/wh/app:d1"]);
});

test("parseImageNames keeps only our names, once", () => {
  const name = "localhost/wh/app:0a0b0c0d-1111-2222-3333-444455556666";
  expect(parseImageNames(`${name}\n${name}\n\nwarning: x\nlocalhost/other:latest\n<none>:<none>\n`)).toEqual([name]);
  expect(parseImageNames("")).toEqual([]);
});

test("untag and id lookup, `--` before the name", () => {
  expect(imageIdArgs("localhost/wh/app:d1")).toEqual(["podman", "image", "inspect", "--format", "{{.Id}}", "--", "localhost/wh/app:d1"]);
  expect(untagArgs("localhost/wh/app:d1")).toEqual(["podman", "untag", "--", "localhost/wh/app:d1", "localhost/wh/app:d1"]);
});

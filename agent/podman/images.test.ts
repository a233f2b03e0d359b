import { expect, test } from "bun:test";
import { buildArgs, cpuQuota, imageLabels, imagesOfDeploymentArgs, parseImageIds, rmiArgs } from "./images";

test("buildArgs: limits, file, tag, labels, `--` before the context", () => {
  expect(
    buildArgs({
      tag: "localhost/wh/app:d1",
      contextDir: "/work/wh-clone-d1-x/src",
      containerfile: "/work/wh-clone-d1-x/src/Containerfile",
      memoryMb: 1024,
      cpus: 1,
      labels: imageLabels("p1", "d1"),
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
    "--label",
    "wh.project=p1",
    "--label",
    "wh.deployment=d1",
    "--",
    "/work/wh-clone-d1-x/src",
  ]);
});

test("cpuQuota", () => {
  expect(cpuQuota(1)).toBe(100_000);
  expect(cpuQuota(2.5)).toBe(250_000);
  expect(cpuQuota(0.5)).toBe(50_000);
  expect(cpuQuota(0.001)).toBe(1000); // the kernel's minimum
});

test("image cleanup builders", () => {
  expect(imagesOfDeploymentArgs("d1")).toEqual(["podman", "images", "--quiet", "--no-trunc", "--filter", "label=wh.deployment=d1"]);
  expect(rmiArgs("sha256:abc", "sha256:def")).toEqual(["podman", "rmi", "--ignore", "--", "sha256:abc", "sha256:def"]);
});

test("parseImageIds dedupes and ignores noise", () => {
  const id = "sha256:" + "5".repeat(64);
  expect(parseImageIds(`${id}\n${id}\n\nwarning: x\n`)).toEqual([id]);
  expect(parseImageIds("")).toEqual([]);
});

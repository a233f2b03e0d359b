import { expect, test } from "bun:test";
import { helpText, parseConfig } from "../config";
import { DEFAULT_BUILD_IMAGES } from "./images";

const hub = { WH_HUB_URL: "http://127.0.0.1:8080" };
const VARS = ["WH_BUILD_IMAGE_BUN", "WH_BUILD_IMAGE_NODE", "WH_BUILD_IMAGE_STATIC", "WH_BUILD_IMAGE_PYTHON", "WH_BUILD_IMAGE_GO", "WH_BUILD_IMAGE_GO_RUNTIME"];

test("WH_BUILD_IMAGE_*: public defaults, overridden by env and flags", () => {
  const d = parseConfig([], hub);
  if (d.kind !== "ok") throw new Error(JSON.stringify(d));
  expect(d.config.buildImages).toEqual(DEFAULT_BUILD_IMAGES);
  expect(DEFAULT_BUILD_IMAGES).toEqual({
    bun: "docker.io/oven/bun:1",
    node: "docker.io/library/node:22-slim",
    static: "docker.io/library/busybox:1.37",
    python: "docker.io/library/python:3.12-slim",
    go: "docker.io/library/golang:1.23",
    goRuntime: "gcr.io/distroless/static-debian12",
  });
  const r = parseConfig(["--image-static", "registry.local:5000/www:2", "--image-go-runtime=registry.local:5000/static:1"], {
    ...hub,
    WH_BUILD_IMAGE_BUN: "registry.local:5000/bun:1",
    WH_BUILD_IMAGE_NODE: "registry.local:5000/node:22",
    WH_BUILD_IMAGE_STATIC: "ignored/by-the-flag:1",
    WH_BUILD_IMAGE_PYTHON: "registry.local:5000/python:3.12",
    WH_BUILD_IMAGE_GO: "registry.local:5000/golang:1.23",
  });
  if (r.kind !== "ok") throw new Error(JSON.stringify(r));
  expect(r.config.buildImages).toEqual({
    bun: "registry.local:5000/bun:1",
    node: "registry.local:5000/node:22",
    static: "registry.local:5000/www:2",
    python: "registry.local:5000/python:3.12",
    go: "registry.local:5000/golang:1.23",
    goRuntime: "registry.local:5000/static:1",
  });
});

test("a value that isn't an image reference stops start-up with one line naming it", () => {
  for (const v of VARS) {
    for (const bad of ["node 22", "node\nRUN x", "-x", "Node:22"]) {
      const r = parseConfig([], { ...hub, [v]: bad });
      expect(r.kind).toBe("error");
      if (r.kind === "error") expect(r.message).toMatch(new RegExp(`^${v} \\(--image-[a-z-]+\\) must be an image reference`));
    }
  }
});

test("--help lists each with its default and the static image's contract", () => {
  const text = helpText();
  for (const v of VARS) expect(text).toContain(v);
  expect(text).toContain("--image-go-runtime runs the compiled Go binary (default: gcr.io/distroless/static-debian12)");
  expect(text).toContain("must serve /srv/www on $PORT");
});

import { expect, test } from "bun:test";
import { containerName, imageTag, isValidDeploymentId, isValidProjectName } from "./names";

const uuid = "0b6f7a9e-1111-4222-8333-944455556666";

test("names of a deployment", () => {
  expect(containerName(uuid)).toBe(`wh-${uuid}`);
  expect(imageTag("my-app", uuid)).toBe(`localhost/wh/my-app:${uuid}`);
});

test("ids and names that could break out of argv or tags are refused", () => {
  for (const bad of ["", "-x", "--rm", "a b", "a/b", "a:b", "../x", "x\n", "a".repeat(129)]) {
    expect(isValidDeploymentId(bad)).toBe(false);
    expect(() => containerName(bad)).toThrow();
  }
  for (const bad of ["", "-app", "app-", "App", "a_b", "a.b", "a/b", "a".repeat(64)]) {
    expect(isValidProjectName(bad)).toBe(false);
    expect(() => imageTag(bad, uuid)).toThrow();
  }
});

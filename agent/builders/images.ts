/**
 * Base images of generated builds, one per stack. Operators mirror images into
 * their own registries, so each is an agent setting (WH_BUILD_IMAGE_*).
 */

export interface BuildImages {
  /** Builds and runs Bun apps (package.json with a bun lockfile, or bun in its scripts). */
  bun: string;
  /** Builds and runs Node apps (npm, yarn, pnpm); corepack comes with it for yarn 2+ and pnpm. */
  node: string;
  /**
   * Serves static sites. Contract: a busybox-style image with /bin/sh and
   * `httpd` on its PATH; the generated Containerfile copies the site to
   * {@link STATIC_ROOT} and runs `httpd -f -p $PORT -h /srv/www`.
   */
  static: string;
  /** Installs and runs Python apps (pip). */
  python: string;
  /** Compiles Go apps (CGO_ENABLED=0). */
  go: string;
  /** Runs the compiled Go binary (it needs nothing else: a static binary). */
  goRuntime: string;
}

/** Where a static site goes in the static image; its command serves this directory. */
export const STATIC_ROOT = "/srv/www";

export const DEFAULT_BUILD_IMAGES: Readonly<BuildImages> = {
  bun: "docker.io/oven/bun:1",
  node: "docker.io/library/node:22-slim",
  static: "docker.io/library/busybox:1.37",
  python: "docker.io/library/python:3.12-slim",
  go: "docker.io/library/golang:1.23",
  goRuntime: "gcr.io/distroless/static-debian12",
};

const IMAGE_REF = /^(?:[A-Za-z0-9][A-Za-z0-9.-]*(?::\d{1,5})?\/)?[a-z0-9][a-z0-9._\/-]*(?::[A-Za-z0-9_][A-Za-z0-9._-]{0,127})?(?:@sha256:[a-f0-9]{64})?$/;

/**
 * An image reference as it may appear after FROM: registry/name[:tag][@digest],
 * no whitespace, nothing a Containerfile would read as syntax.
 */
export function isImageRef(ref: string): boolean {
  return ref.length <= 255 && IMAGE_REF.test(ref) && !ref.includes("//");
}

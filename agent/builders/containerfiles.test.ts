import { describe, expect, test } from "bun:test";
import { execForm, GENERATED_HEADER, generateContainerfile, installSteps, PICK_BUILD_OUTPUT, SERVE_STATIC, runScript } from "./containerfiles";
import type { BuildPlan, PackageManager } from "./detect";
import { DEFAULT_BUILD_IMAGES, isImageRef, type BuildImages } from "./images";

const images: BuildImages = {
  bun: "mirror.example:5000/oven/bun:1.2",
  node: "mirror.example:5000/library/node:22-slim",
  static: "localhost/static-www:latest",
  python: "mirror.example:5000/library/python:3.12-slim",
  go: "mirror.example:5000/library/golang:1.23",
  goRuntime: "mirror.example:5000/distroless/static-debian12",
};
const gen = (plan: BuildPlan) => generateContainerfile(plan, images);
const head = (builder: string) => `${GENERATED_HEADER}\n# builder: ${builder}\n`;

describe("Bun and Node apps", () => {
  test("bun with a lockfile and a build script", () => {
    expect(gen({ builder: "bun", js: { pm: "bun", lockfile: "bun.lock" }, build: true })).toBe(
      head("bun") +
        `FROM mirror.example:5000/oven/bun:1.2
WORKDIR /app
COPY . .
RUN ["bun", "install", "--frozen-lockfile"]
RUN ["bun", "run", "build"]
ENV NODE_ENV=production
CMD ["bun", "run", "start"]
`,
    );
  });

  test("bun without a lockfile, no build script", () => {
    expect(gen({ builder: "bun", js: { pm: "bun", lockfile: null }, build: false })).toBe(
      head("bun") +
        `FROM mirror.example:5000/oven/bun:1.2
WORKDIR /app
COPY . .
RUN ["bun", "install"]
ENV NODE_ENV=production
CMD ["bun", "run", "start"]
`,
    );
  });

  test("npm ci with package-lock.json", () => {
    expect(gen({ builder: "node", js: { pm: "npm", lockfile: "package-lock.json" }, build: true })).toBe(
      head("node") +
        `FROM mirror.example:5000/library/node:22-slim
WORKDIR /app
COPY . .
RUN ["npm", "ci"]
RUN ["npm", "run", "build"]
ENV NODE_ENV=production
CMD ["npm", "run", "start"]
`,
    );
  });

  test.each<[PackageManager, string | null, string[]]>([
    ["bun", "bun.lockb", ['RUN ["bun", "install", "--frozen-lockfile"]']],
    ["npm", null, ['RUN ["npm", "install"]']],
    ["yarn", "yarn.lock", ['RUN ["yarn", "install", "--frozen-lockfile"]']],
    ["yarn", null, ['RUN ["yarn", "install"]']],
    ["yarn-berry", "yarn.lock", ["ENV COREPACK_ENABLE_DOWNLOAD_PROMPT=0", 'RUN ["corepack", "enable"]', 'RUN ["yarn", "install", "--immutable"]']],
    ["yarn-berry", null, ["ENV COREPACK_ENABLE_DOWNLOAD_PROMPT=0", 'RUN ["corepack", "enable"]', 'RUN ["yarn", "install"]']],
    ["pnpm", "pnpm-lock.yaml", ["ENV COREPACK_ENABLE_DOWNLOAD_PROMPT=0", 'RUN ["corepack", "enable"]', 'RUN ["pnpm", "install", "--frozen-lockfile"]']],
    ["pnpm", null, ["ENV COREPACK_ENABLE_DOWNLOAD_PROMPT=0", 'RUN ["corepack", "enable"]', 'RUN ["pnpm", "install"]']],
  ])("install: %s with lockfile %s", (pm, lockfile, steps) => {
    expect(installSteps({ pm, lockfile })).toEqual(steps);
  });

  test("yarn and pnpm run their scripts themselves", () => {
    const text = gen({ builder: "node", js: { pm: "yarn-berry", lockfile: "yarn.lock" }, build: true });
    expect(text).toContain('RUN ["yarn", "run", "build"]\n');
    expect(text).toEndWith('CMD ["yarn", "run", "start"]\n');
    expect(gen({ builder: "node", js: { pm: "pnpm", lockfile: null }, build: false })).toEndWith('CMD ["pnpm", "run", "start"]\n');
  });

  test("script names must be plain; anything else is refused, never written", () => {
    expect(runScript("npm", "build:prod")).toEqual(["npm", "run", "build:prod"]);
    expect(runScript("yarn-berry", "start")).toEqual(["yarn", "run", "start"]);
    for (const bad of ["", "-x", "--help", "a b", 'x"]\nRUN ["sh', "a;b", "$(x)", "x".repeat(65)]) {
      expect(() => runScript("npm", bad)).toThrow(/not a plain script name/);
    }
  });
});

describe("static sites", () => {
  test("served as is: a COPY into /srv/www and busybox httpd on $PORT", () => {
    const serve = 'CMD ["/bin/sh","-c","exec httpd -f -p \\"${PORT:-8080}\\" -h /srv/www"]\n';
    expect(SERVE_STATIC + "\n").toBe(serve);
    expect(gen({ builder: "static", dir: "." })).toBe(head("static") + "FROM localhost/static-www:latest\nCOPY . /srv/www/\n" + serve);
    expect(gen({ builder: "static", dir: "dist" })).toBe(head("static") + "FROM localhost/static-www:latest\nCOPY dist/ /srv/www/\n" + serve);
    expect(gen({ builder: "static", dir: "public" })).toContain("\nCOPY public/ /srv/www/\n");
  });

  test("built by a build script in the node (or bun) image, then copied into the static image", () => {
    expect(gen({ builder: "static", builtBy: { pm: "npm", lockfile: "package-lock.json" } })).toBe(
      head("static") +
        `FROM mirror.example:5000/library/node:22-slim AS build
WORKDIR /app
COPY . .
RUN ["npm", "ci"]
RUN ["npm", "run", "build"]
RUN ${execForm(["/bin/sh", "-c", PICK_BUILD_OUTPUT])}
FROM localhost/static-www:latest
COPY --from=build /srv/www/ /srv/www/
${SERVE_STATIC}
`,
    );
    expect(gen({ builder: "static", builtBy: { pm: "bun", lockfile: null } })).toStartWith(head("static") + "FROM mirror.example:5000/oven/bun:1.2 AS build\n");
  });

  test("the output picker is constant and tries dist, build, out, public in order", () => {
    expect(PICK_BUILD_OUTPUT).toBe(
      'for d in dist build out public; do if [ -f "$d/index.html" ]; then mkdir -p /srv/www && cp -R "$d/." /srv/www/ && echo "serving $d/" && exit 0; fi; done; echo "the build script left no index.html in dist/, build/, out/, public/" >&2; exit 1',
    );
  });
});

describe("Python", () => {
  test("requirements.txt, started by a file", () => {
    expect(gen({ builder: "python", install: "requirements.txt", start: { file: "app.py" } })).toBe(
      head("python") +
        `FROM mirror.example:5000/library/python:3.12-slim
WORKDIR /app
ENV PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
COPY . .
RUN ["pip", "install", "-r", "requirements.txt"]
CMD ["python", "app.py"]
`,
    );
  });

  test("pyproject.toml, started by the Procfile's web command as one JSON string", () => {
    const text = gen({ builder: "python", install: "pyproject.toml", start: { procfile: 'gunicorn "app:create()" -b 0.0.0.0:$PORT \\' } });
    expect(text).toContain('RUN ["pip", "install", "."]\n');
    expect(text).toEndWith('CMD ["/bin/sh", "-c", "gunicorn \\"app:create()\\" -b 0.0.0.0:$PORT \\\\"]\n');
    // Exactly one line per instruction: nothing the command holds starts another.
    expect(text.split("\n").filter((l) => l.startsWith("CMD"))).toHaveLength(1);
  });

  test("a command with a newline or non-ASCII is refused even if detection let it through", () => {
    expect(() => gen({ builder: "python", install: "requirements.txt", start: { procfile: "x\nRUN evil" } })).toThrow(/refusing/);
    expect(() => gen({ builder: "python", install: "requirements.txt", start: { procfile: "x\u2028y" } })).toThrow(/refusing/);
  });
});

describe("Go", () => {
  test("built in the Go image, run from the runtime image", () => {
    expect(gen({ builder: "go", pkg: "." })).toBe(
      head("go") +
        `FROM mirror.example:5000/library/golang:1.23 AS build
WORKDIR /src
ENV CGO_ENABLED=0
COPY . .
RUN ["go", "mod", "download"]
RUN ["go", "build", "-trimpath", "-ldflags=-s -w", "-o", "/out/app", "."]
FROM mirror.example:5000/distroless/static-debian12
COPY --from=build /out/app /app
CMD ["/app"]
`,
    );
    expect(gen({ builder: "go", pkg: "./cmd/api" })).toContain('"-o", "/out/app", "./cmd/api"]');
  });

  test("any other package path is refused", () => {
    for (const pkg of ["./cmd/a b", "../x", "-x", "./cmd/x\nRUN y", "./internal/x"]) expect(() => gen({ builder: "go", pkg })).toThrow(/refusing/);
  });
});

describe("images", () => {
  test("the defaults are public image references", () => {
    for (const ref of Object.values(DEFAULT_BUILD_IMAGES)) expect(isImageRef(ref)).toBe(true);
    expect(generateContainerfile({ builder: "node", js: { pm: "npm", lockfile: null }, build: false }, DEFAULT_BUILD_IMAGES)).toContain(
      "FROM docker.io/library/node:22-slim\n",
    );
  });

  test("image references: registry with port, tag, digest; nothing else", () => {
    for (const ok of ["node", "node:22", "localhost/wh-test-bun:latest", "registry.local:5000/a/b:1.0", `ghcr.io/x/y@sha256:${"a".repeat(64)}`]) {
      expect(isImageRef(ok)).toBe(true);
    }
    for (const bad of ["", "Node", "node:22 AS x", "node\nRUN x", "-x", "a//b", "node:", ":tag", "node:22@sha256:xyz", "x".repeat(256)]) {
      expect(isImageRef(bad)).toBe(false);
    }
  });

  test("a bad image is refused, not written", () => {
    expect(() => generateContainerfile({ builder: "static", dir: "." }, { ...images, static: "busybox\nRUN evil" })).toThrow(/not an image reference/);
  });

  test("execForm", () => {
    expect(execForm(["a", 'b "c"', "$X"])).toBe('["a", "b \\"c\\"", "$X"]');
    expect(() => execForm([])).toThrow();
    expect(() => execForm(["a\tb"])).toThrow(/refusing/);
  });

  test("no header line is a parser directive (# key=value at the top would be one)", () => {
    for (const builder of ["bun", "node", "static", "python", "go"]) expect(head(builder)).not.toContain("=");
  });
});

/**
 * bun run test: builds the two binaries (the end-to-end tests run them as
 * processes), then runs every unit, integration and end-to-end test.
 */
const root = new URL("..", import.meta.url).pathname;

async function step(argv: string[]) {
  console.log(`$ ${argv.join(" ")}`);
  const p = Bun.spawn(argv, { cwd: root, stdout: "inherit", stderr: "inherit", env: process.env });
  const code = await p.exited;
  if (code !== 0) process.exit(code);
}

await step(["bun", "run", "build.ts"]);
await step(["bun", "test", "--timeout", "180000", ...process.argv.slice(2)]);

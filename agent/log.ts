/**
 * The agent's own log: one line per event on stderr, `time level message`.
 * Never given secrets: callers pass Sensitive values, which print as [REDACTED].
 */
type Level = "info" | "warn" | "error";

let writer = (line: string) => {
  process.stderr.write(line + "\n");
};

/** Replaces where log lines go (tests silence or capture them). */
export function setLogWriter(w: (line: string) => void): void {
  writer = w;
}

function write(level: Level, message: string): void {
  writer(`${new Date().toISOString()} ${level.toUpperCase().padEnd(5)} ${message}`);
}

export const log = {
  info: (message: string) => write("info", message),
  warn: (message: string) => write("warn", message),
  error: (message: string) => write("error", message),
};

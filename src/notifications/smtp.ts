/**
 * A small SMTP client (RFC 5321) for alert e-mails: EHLO, STARTTLS when the
 * server offers it (smtp://) or TLS from the start (smtps://), AUTH PLAIN or
 * LOGIN only over TLS, MAIL/RCPT/DATA with dot-stuffing, QUIT.
 *
 * WH_SMTP_URL: smtp://[user:pass@]host[:port][?from=addr&starttls=auto|required|off]
 *              smtps://[user:pass@]host[:port][?from=addr]
 */
import { connect as netConnect, type Socket } from "node:net";
import { connect as tlsConnect } from "node:tls";
import { randomUUID } from "node:crypto";

export type SmtpConfig = {
  host: string;
  port: number;
  /** TLS from the first byte (smtps). */
  secure: boolean;
  starttls: "auto" | "required" | "off";
  user: string | null;
  pass: string | null;
  from: string;
  /** Our name in EHLO. */
  helo: string;
};

export class SmtpError extends Error {}

const ADDRESS = /^[^\s<>()",;:\\@]+@[^\s<>()",;:\\@]+$/;

export function parseSmtpUrl(raw: string, fallbackFromHost = "localhost"): SmtpConfig {
  const u = new URL(raw);
  const secure = u.protocol === "smtps:";
  if (!secure && u.protocol !== "smtp:") throw new SmtpError("WH_SMTP_URL must start with smtp:// or smtps://");
  const starttls = (u.searchParams.get("starttls") ?? "auto") as SmtpConfig["starttls"];
  if (!["auto", "required", "off"].includes(starttls)) throw new SmtpError("WH_SMTP_URL: starttls must be auto, required or off");
  const from = u.searchParams.get("from") ?? `wisehosting@${fallbackFromHost}`;
  if (!ADDRESS.test(from)) throw new SmtpError("WH_SMTP_URL: from must be an e-mail address");
  return {
    host: u.hostname.replace(/^\[|\]$/g, ""),
    port: u.port ? Number(u.port) : secure ? 465 : 587,
    secure,
    starttls,
    user: u.username ? decodeURIComponent(u.username) : null,
    pass: u.password ? decodeURIComponent(u.password) : null,
    from,
    helo: u.searchParams.get("helo") ?? fallbackFromHost,
  };
}

export type Mail = { to: string[]; subject: string; text: string; messageId?: string };

type Reply = { code: number; lines: string[] };

/** One SMTP conversation over a socket that may be upgraded to TLS midway. */
class Conversation {
  private buf = "";
  private replies: Reply[] = [];
  private waiting: ((r: Reply | Error) => void) | null = null;
  private current: string[] = [];
  private failure: Error | null = null;
  tls = false;

  constructor(private socket: Socket) {
    this.attach(socket);
  }

  private attach(socket: Socket) {
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => this.onData(chunk));
    socket.on("error", (e) => this.fail(e instanceof Error ? e : new Error(String(e))));
    socket.on("close", () => this.fail(new SmtpError("the SMTP server closed the connection")));
  }

  private onData(chunk: string) {
    this.buf += chunk;
    if (this.buf.length > 1024 * 1024) return this.fail(new SmtpError("SMTP reply too long"));
    let i: number;
    while ((i = this.buf.indexOf("\n")) >= 0) {
      const line = this.buf.slice(0, i).replace(/\r$/, "");
      this.buf = this.buf.slice(i + 1);
      const m = /^(\d{3})([ -])(.*)$/.exec(line);
      if (!m) return this.fail(new SmtpError(`malformed SMTP reply: ${line.slice(0, 200)}`));
      this.current.push(m[3]!);
      if (m[2] === " ") {
        const reply = { code: Number(m[1]), lines: this.current };
        this.current = [];
        if (this.waiting) {
          const w = this.waiting;
          this.waiting = null;
          w(reply);
        } else this.replies.push(reply);
      }
    }
  }

  private fail(e: Error) {
    if (this.failure) return;
    this.failure = e;
    if (this.waiting) {
      const w = this.waiting;
      this.waiting = null;
      w(e);
    }
  }

  read(): Promise<Reply> {
    const r = this.replies.shift();
    if (r) return Promise.resolve(r);
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.waiting = (x) => (x instanceof Error ? reject(x) : resolve(x));
    });
  }

  write(data: string) {
    this.socket.write(data);
  }

  /** Sends a command and expects one of `ok` reply codes. */
  async command(line: string, ok: number[], shown = line): Promise<Reply> {
    this.write(line + "\r\n");
    const r = await this.read();
    if (!ok.includes(r.code)) throw new SmtpError(`SMTP ${shown.split(" ")[0]}: ${r.code} ${r.lines.join(" ").slice(0, 300)}`);
    return r;
  }

  async upgrade(servername: string) {
    const plain = this.socket;
    plain.removeAllListeners("data");
    plain.removeAllListeners("close");
    plain.removeAllListeners("error");
    const secured = tlsConnect({ socket: plain, servername });
    await new Promise<void>((resolve, reject) => {
      secured.once("secureConnect", () => resolve());
      secured.once("error", reject);
    });
    this.socket = secured;
    this.buf = "";
    this.attach(secured);
    this.tls = true;
  }

  close() {
    this.socket.destroy();
  }
}

const isLoopback = (host: string) => host === "localhost" || host === "::1" || /^127\./.test(host);

/** Strips CR/LF (header injection) and encodes non-ASCII text as an RFC 2047 word. */
export function headerValue(v: string): string {
  const clean = v.replace(/[\r\n]+/g, " ");
  return /^[\x20-\x7e]*$/.test(clean) ? clean : `=?UTF-8?B?${Buffer.from(clean).toString("base64")}?=`;
}

/** The message text (headers, base64 body), lines ending CRLF. */
export function buildMessage(cfg: SmtpConfig, mail: Mail, now = new Date()): string {
  const body = Buffer.from(mail.text.replace(/\r?\n/g, "\r\n"), "utf8")
    .toString("base64")
    .replace(/.{76}/g, "$&\r\n");
  const domain = cfg.from.split("@")[1] ?? "localhost";
  return [
    `From: WiseHosting <${cfg.from}>`,
    `To: ${mail.to.join(", ")}`,
    `Subject: ${headerValue(mail.subject)}`,
    `Date: ${now.toUTCString().replace("GMT", "+0000")}`,
    `Message-ID: <${(mail.messageId ?? randomUUID()).replace(/[^A-Za-z0-9.:_-]/g, "")}@${domain}>`,
    "MIME-Version: 1.0",
    "Content-Type: text/plain; charset=utf-8",
    "Content-Transfer-Encoding: base64",
    "",
    body,
  ].join("\r\n");
}

/** Sends one message; throws SmtpError (or a socket error) when the server doesn't take it. */
export async function sendMail(cfg: SmtpConfig, mail: Mail, timeoutMs = 20_000): Promise<void> {
  for (const a of [cfg.from, ...mail.to]) if (!ADDRESS.test(a)) throw new SmtpError(`not an e-mail address: ${a}`);
  const socket = await new Promise<Socket>((resolve, reject) => {
    const s: Socket = cfg.secure
      ? tlsConnect({ host: cfg.host, port: cfg.port, servername: cfg.host }, () => resolve(s))
      : netConnect({ host: cfg.host, port: cfg.port }, () => resolve(s));
    s.once("error", reject);
    s.setTimeout(timeoutMs, () => s.destroy(new SmtpError(`SMTP server ${cfg.host}:${cfg.port} timed out`)));
  });
  const c = new Conversation(socket);
  c.tls = cfg.secure;
  try {
    const greeting = await c.read();
    if (greeting.code !== 220) throw new SmtpError(`SMTP greeting: ${greeting.code} ${greeting.lines.join(" ")}`);
    let ehlo = await c.command(`EHLO ${cfg.helo}`, [250]);
    const offers = (r: Reply, what: string) => r.lines.slice(1).some((l) => l.toUpperCase().split(" ")[0] === what);
    if (!c.tls && cfg.starttls !== "off" && offers(ehlo, "STARTTLS")) {
      await c.command("STARTTLS", [220]);
      await c.upgrade(cfg.host);
      ehlo = await c.command(`EHLO ${cfg.helo}`, [250]);
    }
    if (!c.tls && cfg.starttls === "required") throw new SmtpError("the SMTP server does not offer STARTTLS (starttls=required)");
    if (cfg.user !== null) {
      if (!c.tls && !isLoopback(cfg.host)) throw new SmtpError("refusing to send SMTP credentials over a connection without TLS");
      const auth = ehlo.lines.slice(1).find((l) => /^AUTH[ =]/i.test(l))?.toUpperCase() ?? "";
      if (/\bPLAIN\b/.test(auth) || !/\bLOGIN\b/.test(auth)) {
        const token = Buffer.from(`\0${cfg.user}\0${cfg.pass ?? ""}`).toString("base64");
        await c.command(`AUTH PLAIN ${token}`, [235], "AUTH PLAIN");
      } else {
        await c.command("AUTH LOGIN", [334]);
        await c.command(Buffer.from(cfg.user).toString("base64"), [334], "AUTH user");
        await c.command(Buffer.from(cfg.pass ?? "").toString("base64"), [235], "AUTH password");
      }
    }
    await c.command(`MAIL FROM:<${cfg.from}>`, [250]);
    for (const to of mail.to) await c.command(`RCPT TO:<${to}>`, [250, 251]);
    await c.command("DATA", [354]);
    const data = buildMessage(cfg, mail)
      .split("\r\n")
      .map((l) => (l.startsWith(".") ? "." + l : l))
      .join("\r\n");
    await c.command(`${data}\r\n.`, [250], "DATA (message)");
    await c.command("QUIT", [221]).catch(() => {});
  } finally {
    c.close();
  }
}

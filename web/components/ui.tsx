/** Small presentational pieces shared by the pages. */
import type { ButtonHTMLAttributes, ComponentChildren, TargetedEvent, TargetedInputEvent } from "preact";
import { signal } from "@preact/signals";
import { useEffect, useState } from "preact/hooks";
import type { Action } from "../models/util";

type InputProps = {
  id: string;
  label: ComponentChildren;
  value?: string | number;
  error?: string;
  hint?: ComponentChildren;
  class?: string;
  type?: "text" | "email" | "password" | "search" | "date" | "datetime-local" | "number";
  required?: boolean;
  disabled?: boolean;
  autoFocus?: boolean;
  autoComplete?: string;
  inputMode?: "numeric" | "decimal" | "text" | "email";
  placeholder?: string;
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  list?: string;
  onInput?: (e: TargetedInputEvent<HTMLInputElement>) => void;
};

/** A labelled input with its hint and the API's message for it. */
export function Field({ id, label, error, hint, class: cls, ...rest }: InputProps) {
  const described = [hint ? `${id}-hint` : "", error ? `${id}-error` : ""].filter(Boolean).join(" ") || undefined;
  return (
    <div class={`field ${cls ?? ""}`}>
      <label for={id}>{label}</label>
      <input id={id} name={id} aria-invalid={error ? "true" : undefined} aria-describedby={described} {...(rest as Record<string, unknown>)} />
      {hint && (
        <p class="hint" id={`${id}-hint`}>
          {hint}
        </p>
      )}
      {error && (
        <p class="field-error" id={`${id}-error`}>
          {error}
        </p>
      )}
    </div>
  );
}

type SelectProps = {
  id: string;
  label: ComponentChildren;
  value?: string;
  options: [string, string][];
  error?: string;
  class?: string;
  disabled?: boolean;
  onChange?: (e: TargetedEvent<HTMLSelectElement, Event>) => void;
};

export function Select({ id, label, options, error, class: cls, ...rest }: SelectProps) {
  return (
    <div class={`field ${cls ?? ""}`}>
      <label for={id}>{label}</label>
      <select id={id} name={id} aria-invalid={error ? "true" : undefined} aria-describedby={error ? `${id}-error` : undefined} {...rest}>
        {options.map(([v, text]) => (
          <option key={v} value={v}>
            {text}
          </option>
        ))}
      </select>
      {error && (
        <p class="field-error" id={`${id}-error`}>
          {error}
        </p>
      )}
    </div>
  );
}

/** An error where the action was taken; announced to screen readers. */
export function Alert({ children, kind = "error" }: { children: ComponentChildren; kind?: "error" | "ok" | "info" }) {
  if (!children) return null;
  return (
    <p class={`alert ${kind}`} role={kind === "error" ? "alert" : "status"}>
      {children}
    </p>
  );
}

type ButtonProps = Omit<ButtonHTMLAttributes<HTMLButtonElement>, "onClick" | "type"> & {
  busy?: boolean;
  busyLabel?: string;
  kind?: "primary" | "danger" | "plain";
  onClick?: () => unknown;
  type?: "button" | "submit";
  disabled?: boolean;
};

/** A button that shows its action in progress. */
export function Button({ busy, busyLabel, kind = "plain", children, onClick, type = "button", disabled, class: cls, ...rest }: ButtonProps) {
  return (
    <button
      type={type}
      class={`btn ${kind} ${cls ?? ""}`}
      aria-busy={busy ? "true" : undefined}
      disabled={disabled || busy}
      onClick={onClick ? () => void onClick() : undefined}
      {...rest}
    >
      {busy && <span class="spinner" aria-hidden="true" />}
      {busy && busyLabel ? busyLabel : children}
    </button>
  );
}

/** A button bound to a model Action: progress while it runs, the API's error under it. */
export function ActionButton({ act, label, busyLabel, kind, run, disabled }: { act: Action; label: string; busyLabel: string; kind?: ButtonProps["kind"]; run: () => unknown; disabled?: boolean }) {
  return (
    <Button kind={kind} busy={act.busy.value} busyLabel={busyLabel} onClick={run} disabled={disabled}>
      {label}
    </Button>
  );
}

const STATUS_LABEL: Record<string, string> = { new: "not deployed" };

export function Status({ status }: { status: string }) {
  return <span class={`status s-${status}`}>{STATUS_LABEL[status] ?? status}</span>;
}

const rtf = typeof Intl !== "undefined" ? new Intl.RelativeTimeFormat(undefined, { numeric: "auto" }) : null;

export function relative(iso: string, now = Date.now()): string {
  const s = Math.round((new Date(iso).getTime() - now) / 1000);
  const a = Math.abs(s);
  if (!rtf) return new Date(iso).toLocaleString();
  if (a < 45) return rtf.format(s, "second");
  if (a < 2700) return rtf.format(Math.round(s / 60), "minute");
  if (a < 64800) return rtf.format(Math.round(s / 3600), "hour");
  return rtf.format(Math.round(s / 86400), "day");
}

const now = signal(Date.now());
setInterval(() => (now.value = Date.now()), 30_000);

/** A time shown relative ("2 minutes ago"), the exact one in a tooltip; all of them tick every 30 s. */
export function Time({ iso }: { iso: string | null }) {
  if (!iso) return <span class="muted">—</span>;
  return (
    <time dateTime={iso} title={new Date(iso).toLocaleString()}>
      {relative(iso, Math.max(now.value, Date.now()))}
    </time>
  );
}

export function duration(fromIso: string | null, toIso: string | null): string {
  if (!fromIso || !toIso) return "—";
  const ms = new Date(toIso).getTime() - new Date(fromIso).getTime();
  if (ms < 1000) return `${Math.max(0, ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
}

/** Copies `text`; says so for a moment. */
export function CopyButton({ text, label = "Copy" }: { text: string; label?: string }) {
  const [state, setState] = useState<"" | "copied" | "failed">("");
  return (
    <button
      type="button"
      class="btn plain small"
      onClick={async () => {
        try {
          await navigator.clipboard.writeText(text);
          setState("copied");
        } catch {
          setState("failed");
        }
        setTimeout(() => setState(""), 2000);
      }}
    >
      {state === "copied" ? "Copied" : state === "failed" ? "Select and copy it" : label}
      <span class="sr-only" aria-live="polite">
        {state === "copied" ? "Copied to the clipboard" : ""}
      </span>
    </button>
  );
}

export function Loading({ what }: { what: string }) {
  return (
    <p class="muted" role="status">
      <span class="spinner" aria-hidden="true" /> Loading {what}…
    </p>
  );
}

/** A section of a page with its heading. */
export function Section({ title, id, children, actions }: { title: string; id?: string; children: ComponentChildren; actions?: ComponentChildren }) {
  return (
    <section class="card" aria-labelledby={id ? `${id}-h` : undefined}>
      <div class="section-head">
        <h2 id={id ? `${id}-h` : undefined}>{title}</h2>
        {actions}
      </div>
      {children}
    </section>
  );
}

/** Sets the document title for the page shown. */
export function useTitle(title: string) {
  useEffect(() => {
    document.title = `${title} · WiseHosting`;
  }, [title]);
}

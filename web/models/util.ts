/** Small shared pieces of the models: an action's progress and error, and error text. */
import { signal, type Signal } from "@preact/signals";
import { ApiFailure } from "../api";

export const errorText = (e: unknown): string =>
  e instanceof ApiFailure ? e.message : e instanceof Error ? e.message : String(e);

/** An action someone starts from a button: busy while it runs, the API's message when it fails. */
export type Action = { busy: Signal<boolean>; error: Signal<string>; run<T>(fn: () => Promise<T>): Promise<T | undefined> };

export function action(): Action {
  const busy = signal(false);
  const error = signal("");
  return {
    busy,
    error,
    async run(fn) {
      busy.value = true;
      error.value = "";
      try {
        return await fn();
      } catch (e) {
        error.value = errorText(e);
        return undefined;
      } finally {
        busy.value = false;
      }
    },
  };
}

/** Form errors: one message per field (from the API's "field: message"), plus one for the form. */
export type FormErrors = { fields: Signal<Record<string, string>>; form: Signal<string>; busy: Signal<boolean> };

export function formErrors(): FormErrors {
  return { fields: signal({}), form: signal(""), busy: signal(false) };
}

/** Runs a form's request; a 400/409 naming one of `known` fields lands next to that field. */
export async function submitForm<T>(f: FormErrors, known: readonly string[], fn: () => Promise<T>): Promise<T | undefined> {
  f.busy.value = true;
  f.fields.value = {};
  f.form.value = "";
  try {
    return await fn();
  } catch (e) {
    const field = e instanceof ApiFailure ? e.field : null;
    if (field && known.includes(field.name)) f.fields.value = { [field.name]: field.message };
    else f.form.value = errorText(e);
    return undefined;
  } finally {
    f.busy.value = false;
  }
}

/** Users (admin): list, create or invite, change role, disable and enable. */
import { signal } from "@preact/signals";
import { api, type UserCreated, type UserInput, type UserView } from "../api";
import { onSignOut } from "./session";
import { action, errorText, formErrors, submitForm, type Action } from "./util";

export const users = signal<UserView[] | null>(null);
export const usersError = signal("");
export const userForm = formErrors();
export const created = signal<UserCreated | null>(null);

export async function loadUsers() {
  try {
    users.value = (await api.users()).users;
    usersError.value = "";
  } catch (e) {
    usersError.value = errorText(e);
  }
}

/** Email of a user id when the admin's list is loaded; else a short id. */
export const userEmail = (id: string | null) => (id ? (users.value?.find((u) => u.id === id)?.email ?? null) : null);

export async function createUser(input: UserInput) {
  const u = await submitForm(userForm, ["email", "role", "password", "display_name"], () => api.createUser(input));
  if (u) {
    created.value = u;
    await loadUsers();
  }
  return u;
}

const rowActions = new Map<string, Action>();
export function rowAction(id: string): Action {
  let a = rowActions.get(id);
  if (!a) rowActions.set(id, (a = action()));
  return a;
}

export const patchUser = (id: string, patch: { role?: "admin" | "member"; disabled?: boolean }) =>
  rowAction(id).run(async () => {
    const u = await api.patchUser(id, patch);
    users.value = users.value?.map((x) => (x.id === id ? u : x)) ?? null;
  });

onSignOut(() => {
  users.value = null;
  created.value = null;
  rowActions.clear();
});


/** Routes of this feature are added by its own change; until then it serves nothing. */
import { Elysia } from "elysia";
import type { AppContext } from "../context";

export function gitprovidersPlugin(_ctx: AppContext) {
  return new Elysia();
}

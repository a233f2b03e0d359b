/**
 * What every feature needs at run time, built once in main.ts (or a test) and
 * handed to the feature plugins and services as plain arguments.
 */
import type { Sql } from "postgres";
import type { Config } from "./config";
import type { Events } from "./events";
import type { Hub } from "./hub/service";

export type AppContext = {
  sql: Sql;
  config: Config;
  events: Events;
  hub: Hub;
};

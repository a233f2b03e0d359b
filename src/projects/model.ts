/** Project shapes live in the shared protocol module; re-exported for the feature. */
export { projectCreate, projectPatch, project, idParam } from "../protocol/api";
export type { Project, ProjectCreate, ProjectPatch } from "../protocol/api";

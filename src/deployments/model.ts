export { deployment, deploymentCreated, idParam } from "../protocol/api";
export type { Deployment } from "../protocol/api";

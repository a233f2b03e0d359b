/**
 * How the agent names containers and images. Both are derived from ids the
 * hub sends, so they are checked before they get near a podman argv.
 */

/** Deployment ids are UUIDs in practice; accept any short token podman takes as a name and tag. */
const ID = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$/;
/** Project names are DNS labels (see src/protocol/api.ts). */
const PROJECT = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/** True when `id` can be used in a container name and an image tag. */
export function isValidDeploymentId(id: string): boolean {
  return ID.test(id);
}

/** True when `name` can be used as an image repository path component. */
export function isValidProjectName(name: string): boolean {
  return PROJECT.test(name);
}

/** `wh-<deployment_id>`; throws on an id that isn't a plain token. */
export function containerName(deploymentId: string): string {
  if (!isValidDeploymentId(deploymentId)) throw new Error(`invalid deployment id ${JSON.stringify(deploymentId)}`);
  return `wh-${deploymentId}`;
}

/** `localhost/wh/<project_name>:<deployment_id>`; throws on invalid parts. */
export function imageTag(projectName: string, deploymentId: string): string {
  if (!isValidProjectName(projectName)) throw new Error(`invalid project name ${JSON.stringify(projectName)}`);
  if (!isValidDeploymentId(deploymentId)) throw new Error(`invalid deployment id ${JSON.stringify(deploymentId)}`);
  return `localhost/wh/${projectName}:${deploymentId}`;
}

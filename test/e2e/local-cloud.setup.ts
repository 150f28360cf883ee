import type { TestProject } from 'vitest/node';
import { type LocalCloudConfig, runningLocalCloud, startLocalCloud } from '../../local/cloud.js';

declare module 'vitest' {
  export interface ProvidedContext {
    localCloud: LocalCloudConfig;
  }
}

/**
 * Starts the local cloud for the end-to-end tests and stops it afterwards, or uses the one `npm start` is
 * running (then leaves it up).
 */
export default async function setup(project: TestProject) {
  const running = await runningLocalCloud();
  if (running) {
    console.log('e2e: using the local cloud that is already running');
    project.provide('localCloud', running);
    return;
  }
  const cloud = await startLocalCloud((line) => console.log(`e2e: ${line}`));
  project.provide('localCloud', cloud.config);
  return () => cloud.stop();
}

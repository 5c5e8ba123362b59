import type { TestProject } from 'vitest/node';
import { buildCli } from './build-cli.js';
import { pgliteTemplate } from './pglite-template.js';
import type {} from './provided.js';

/** Once per run of the integration tests: the compiled CLI and the PGlite template. */
export default async function setup(project: TestProject): Promise<() => void> {
  const cli = buildCli();
  project.provide('kodahCli', cli.entry);
  project.provide('pgliteTemplate', await pgliteTemplate());
  return () => cli.remove();
}

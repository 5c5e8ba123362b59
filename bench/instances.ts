import { readFileSync } from 'node:fs';
import { z } from 'zod';
import type { LocalFixRequest } from '../src/fix/fix-pipeline.js';

/** One SWE-bench-style bug report of the benchmark files: a repository at a commit, and its report. */
export const instanceSchema = z.object({
  instance_id: z.string(),
  repo: z.string().regex(/^[\w.-]+\/[\w.-]+$/),
  base_commit: z.string().regex(/^[0-9a-f]{7,40}$/),
  problem_statement: z.string(),
});

/** A JSON-lines file, each line checked against `schema`; a bad line names itself. */
export function readJsonl<T>(file: string, schema: z.ZodType<T>): T[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l, i) => {
      const parsed = schema.safeParse(JSON.parse(l));
      if (!parsed.success) throw new Error(`${file}:${i + 1}: ${parsed.error.issues[0]?.message}`);
      return parsed.data;
    });
}

/** The fix request a benchmark makes of a report: its repository on disk at its base commit. */
export function benchFixRequest(
  instance: Pick<z.infer<typeof instanceSchema>, 'instance_id' | 'problem_statement'>,
  commit: string,
  gitDir: string,
): LocalFixRequest {
  return {
    jobId: instance.instance_id,
    accountId: 'bench',
    repoUrl: 'local',
    ref: commit,
    commitSha: commit,
    description: instance.problem_statement,
    visibility: 'public',
    localGitDir: gitDir,
  };
}

import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parse } from 'yaml';
import { z } from 'zod';

/** `.github/kodah.yml`: how a repository wants Kodah to work on it. */
const schema = z.object({
  /** Commands run once in the sandbox before the tests (a venv, an install), cached by setup_cache_key. */
  setup: z
    .union([z.string().min(1).max(4000), z.array(z.string().min(1).max(2000)).min(1).max(20)])
    .transform((v) => (Array.isArray(v) ? v.join(' && ') : v))
    .optional(),
  /** Files (lockfiles) whose contents key the prepared environment. */
  setup_cache_key: z
    .union([z.string().min(1).max(500), z.array(z.string().min(1).max(500)).max(20)])
    .transform((v) => (Array.isArray(v) ? v : [v]))
    .optional(),
  setup_timeout_s: z.number().int().min(1).max(86_400).optional(),
  test_command: z.string().min(1).max(2000).optional(),
  test_timeout_s: z.number().int().min(1).max(3600).optional(),
  /** The container image (container sandbox only), from the operator's allowed list. */
  image: z.string().min(1).max(200).optional(),
  /** Lower limits than the operator's for this repository's commands (higher values are capped). */
  limits: z
    .object({
      memory_mb: z.number().int().min(16).optional(),
      processes: z.number().int().min(1).optional(),
      disk_mb: z.number().int().min(1).optional(),
      output_kb: z.number().int().min(1).optional(),
    })
    .strict()
    .optional(),
  /** Lower budgets than the operator's for the agent on this repository (higher values are capped). */
  budget: z
    .object({
      steps: z.number().int().min(1).optional(),
      tokens: z.number().int().min(1000).optional(),
      cost_usd: z.number().positive().optional(),
      time_s: z.number().int().min(10).optional(),
      command_timeout_s: z.number().int().min(1).optional(),
    })
    .strict()
    .optional(),
  delivery: z.enum(['pull_request', 'comment']).optional(),
  ci: z.boolean().optional(),
  label: z.string().min(1).max(50).optional(),
});

export type RepoSettings = z.infer<typeof schema> & { problems: string[] };

const MAX_BYTES = 64 * 1024;

/**
 * Reads the repository's settings; a missing file means defaults, and a malformed one means
 * defaults plus a problem to report (a bad settings file must not break fixing).
 */
export async function readRepoSettings(worktree: string): Promise<RepoSettings> {
  const file = path.join(worktree, '.github', 'kodah.yml');
  return parseRepoSettings(await readFile(file, 'utf8').catch(() => null));
}

/** The settings in the text of a `.github/kodah.yml` (null: no such file). */
export function parseRepoSettings(text: string | null): RepoSettings {
  if (text === null) return { problems: [] };
  if (Buffer.byteLength(text) > MAX_BYTES) return { problems: ['.github/kodah.yml is larger than 64 KiB; ignored'] };
  try {
    const parsed = schema.safeParse(parse(text, { maxAliasCount: 10 }) ?? {});
    if (parsed.success) return { ...parsed.data, problems: [] };
    return { problems: parsed.error.issues.map((i) => `.github/kodah.yml: ${i.path.join('.') || 'file'}: ${i.message}; ignored`) };
  } catch (err) {
    return { problems: [`.github/kodah.yml is not valid YAML (${(err as Error).message.split('\n')[0]}); ignored`] };
  }
}

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type Command, InvalidArgumentError } from 'commander';
import { type Config, ConfigError } from '../config.js';
import { resolveCommit } from '../git/git-objects.js';
import { runGit } from '../git/run-git.js';
import { KodahError } from '../lib/errors.js';
import { createLogger } from '../lib/logger.js';
import { isRepoUrl, localGitDir, operatorCredentials } from './local-git-dir.js';
import { print, readInputFile } from './operator-io.js';

interface FixOptions {
  repo: string;
  ref: string;
  description?: string;
  descriptionFile?: string;
  testCommand?: string;
  apply?: boolean;
  json?: boolean;
}

/** Applies a diff to the work tree at dir with git apply, through a temporary patch file. */
async function applyDiff(diff: string, dir: string, env: Record<string, string | undefined>): Promise<void> {
  const patch = path.join(await mkdtemp(path.join(tmpdir(), 'kodah-fix-')), 'fix.diff');
  await writeFile(patch, diff);
  const applied = await runGit(['apply', '--whitespace=nowarn', patch], {
    env: { PATH: env.PATH ?? '/usr/bin:/bin' },
    cwd: dir,
    timeoutMs: 60_000,
  });
  await rm(path.dirname(patch), { recursive: true, force: true });
  if (applied.code !== 0) throw new KodahError('internal', `git apply failed: ${applied.stderr.trim()}`);
}

/** `fix`: the whole fix pipeline on one repository, without the server, jobs or billing. */
export function addFixCommand(program: Command, cfg: () => Config, env: Record<string, string | undefined>): void {
  program
    .command('fix')
    .description('run the fix pipeline on a repository without the server and print the diff')
    .requiredOption('--repo <path|url>', 'a local repository (bare or with a work tree) or a repository URL')
    .option('--ref <ref>', 'branch, tag or commit', 'HEAD')
    .option('--description <text>', 'the bug report')
    .option('--description-file <file>', 'the bug report from a file ("-" for standard input)')
    .option('--test-command <command>', "overrides the repository's .github/kodah.yml test_command")
    .option('--apply', 'apply the diff to the repository at --repo (a local work tree)')
    .option('--json', 'print the whole result as JSON')
    .action(async (opts: FixOptions) => {
      const config = cfg();
      if (!config.model) throw new ConfigError('kodah fix needs a model: set OPENAI_BASE_URL (and OPENAI_API_KEY, KODAH_MODEL)');
      const description = opts.description ?? (opts.descriptionFile ? await readInputFile(opts.descriptionFile) : '');
      if (!description.trim()) throw new InvalidArgumentError('give the bug report with --description or --description-file');
      const remote = isRepoUrl(opts.repo);
      if (opts.apply && remote) throw new InvalidArgumentError('--apply needs --repo to be a local work tree');
      const gitDir = await localGitDir(opts.repo, config);
      const commit = await resolveCommit(gitDir, opts.ref);
      // The log shares stdout with the diff: at the default level it would bury it, so warnings and up only.
      const log = createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel);
      // Loaded here, not at the top: the other commands need none of the fix pipeline (see serve.ts).
      const [{ fixDepsFor }, { runFixPipeline }, { selectSandbox }] = await Promise.all([
        import('../app.js'),
        import('../fix/fix-pipeline.js'),
        import('../sandbox/select-driver.js'),
      ]);
      const result = await runFixPipeline(
        fixDepsFor(config, operatorCredentials(config), await selectSandbox(config, log)),
        {
          jobId: 'cli',
          accountId: 'operator',
          repoUrl: remote ? opts.repo : 'local',
          ref: opts.ref,
          commitSha: commit,
          description,
          visibility: 'public',
          testCommand: opts.testCommand,
          localGitDir: gitDir,
        },
        { signal: new AbortController().signal, log, report: async (stage) => void process.stderr.write(`kodah: ${stage}\n`) },
      );
      if (opts.apply) await applyDiff(result.diff, path.resolve(opts.repo), env);
      if (opts.json) print(true, result, '');
      else process.stdout.write(`${result.explanation ? `${result.explanation.trim()}\n\n` : ''}${result.diff}`);
      if (opts.apply) process.stderr.write(`kodah: applied to ${path.resolve(opts.repo)}\n`);
    });
}

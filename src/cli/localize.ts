import type { Command } from 'commander';
import type { Config } from '../config.js';
import { resolveCommit } from '../git/git-objects.js';
import { FactsCache } from '../localize/facts-cache.js';
import { localize } from '../localize/localize.js';
import { localGitDir } from './local-git-dir.js';
import { print, readInputFile } from './operator-io.js';

interface LocalizeOptions {
  repo: string;
  ref: string;
  descriptionFile: string;
  limit: string;
  json?: boolean;
}

/** `localize`: the bug localization stage alone, ranked files and snippets for a bug report. */
export function addLocalizeCommand(program: Command, cfg: () => Config): void {
  program
    .command('localize')
    .description('rank the files of a repository for a bug report')
    .requiredOption('--repo <path|url>', 'a local repository (bare or with a work tree) or a repository URL')
    .option('--ref <ref>', 'branch, tag or commit', 'HEAD')
    .requiredOption('--description-file <file>', 'the bug report ("-" for standard input)')
    .option('--limit <n>', 'how many files to show', '10')
    .option('--json', 'print JSON')
    .action(async (opts: LocalizeOptions) => {
      const description = await readInputFile(opts.descriptionFile);
      const gitDir = await localGitDir(opts.repo, cfg());
      const commit = await resolveCommit(gitDir, opts.ref);
      const limit = Number(opts.limit) || 10;
      const { files: ranked, snippets } = await localize(gitDir, commit, description, {
        cache: new FactsCache(),
        files: limit,
        snippets: limit,
      });
      if (opts.json) {
        // Snippet text would make the ranking unreadable; path and lines locate it.
        print(true, { commit, files: ranked, snippets: snippets.map(({ text: _text, ...s }) => s) }, '');
        return;
      }
      const width = Math.max(4, ...ranked.map((r) => r.path.length));
      const lines = ranked.map(
        (r, i) => `${String(i + 1).padStart(3)}  ${r.score.toFixed(3)}  ${r.path.padEnd(width)}  ${r.reasons.slice(0, 4).join('; ')}`,
      );
      const where = snippets.map((s) => `${s.path}:${s.startLine}-${s.endLine}`);
      const swidth = Math.max(5, ...where.map((w) => w.length));
      const snippetLines = snippets.map(
        (s, i) =>
          `${String(i + 1).padStart(3)}  ${s.score.toFixed(3)}  ${where[i]!.padEnd(swidth)}  ${s.kind} ${s.qualifiedName}${s.reasons.length ? `: ${s.reasons.join('; ')}` : ''}`,
      );
      print(
        false,
        null,
        [
          `commit ${commit}`,
          '',
          `  #  score  ${'file'.padEnd(width)}  why`,
          ...lines,
          '',
          `  #  score  ${'where'.padEnd(swidth)}  what`,
          ...snippetLines,
        ].join('\n'),
      );
    });
}

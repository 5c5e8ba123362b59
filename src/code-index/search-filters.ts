import { globMatcher } from '../lib/glob.js';
import { KodahError } from '../lib/errors.js';
import { sanitizeRemoteUri } from './repositories.js';
import type { SegmentFile } from './search-segment.js';

export interface SearchFilters {
  languages?: string[];
  authors?: string[];
  /** Keeps snippets whose file changed on or after this instant. */
  startDate?: Date;
  /** Keeps snippets whose file existed by this instant. */
  endDate?: Date;
  /** Repository URLs (any spelling of one: with or without ".git"), or repository ids. */
  sources?: string[];
  /** Globs over the path; a pattern without "/" matches the file name anywhere. */
  filePatterns?: string[];
}

const LANGUAGE_ALIASES: Record<string, string> = {
  py: 'python',
  js: 'javascript',
  ts: 'typescript',
  golang: 'go',
  rs: 'rust',
  rb: 'ruby',
  'c++': 'cpp',
  cxx: 'cpp',
  'c#': 'csharp',
  cs: 'csharp',
  'c-sharp': 'csharp',
  jsx: 'javascript',
  plaintext: 'text',
};

/** A compiled filter: which repositories and which documents of a segment pass. */
export interface CompiledFilters {
  repository(id: string, sanitizedUri: string): boolean;
  language(language: string): boolean;
  file(file: SegmentFile): boolean;
}

/** Compiles the filters once per search; a malformed glob is the caller's error (422). */
export function compileFilters(filters: SearchFilters = {}): CompiledFilters {
  const languages = filters.languages?.length
    ? new Set(filters.languages.map((l) => LANGUAGE_ALIASES[l.toLowerCase()] ?? l.toLowerCase()))
    : null;
  const authors = filters.authors?.length ? filters.authors.map((a) => a.toLowerCase()) : null;
  const sources = filters.sources?.length
    ? new Set(
        filters.sources.map((s) => {
          try {
            return /^\d+$/.test(s) ? s : sanitizeRemoteUri(s);
          } catch {
            throw new KodahError('invalid_input', `filters.sources: ${JSON.stringify(s)} is neither a repository URL nor an id`, {
              kind: 'input',
            });
          }
        }),
      )
    : null;
  const globs = filters.filePatterns?.length
    ? filters.filePatterns.map((pattern) => {
        if (!pattern.trim() || pattern.length > 500 || pattern.includes('\0')) {
          throw new KodahError('invalid_input', `filters.file_patterns: ${JSON.stringify(pattern)} is not a valid glob`, { kind: 'input' });
        }
        try {
          return globMatcher(pattern, { basename: true, strict: true });
        } catch (err) {
          throw new KodahError(
            'invalid_input',
            `filters.file_patterns: ${JSON.stringify(pattern)} is not a valid glob (${(err as Error).message})`,
            { kind: 'input' },
          );
        }
      })
    : null;
  const start = filters.startDate?.getTime() ?? null;
  const end = filters.endDate?.getTime() ?? null;
  return {
    repository: (id, uri) => !sources || sources.has(id) || sources.has(uri),
    language: (language) => !languages || languages.has(language),
    file: (file) =>
      (!authors || authors.some((a) => file.authorKeys.has(a))) &&
      (start === null || (file.lastDate !== null && file.lastDate >= start)) &&
      (end === null || (file.firstDate !== null && file.firstDate <= end)) &&
      (!globs || globs.some((match) => match(file.path))),
  };
}

/**
 * Reads `/kodah …` commands from GitHub comments. The rule is deliberately narrow so people can
 * predict it: the comment's first line that is neither blank nor a quote must start with `/kodah`.
 * A `/kodah` further down, in a quote of someone else's command or in a code block is talk about
 * Kodah, not an order to it.
 */
import { sanitizeText } from './sanitize-text.js';

export type KodahCommand =
  { name: 'fix'; context: string } | { name: 'retry' } | { name: 'cancel' } | { name: 'help' } | { name: 'unknown'; word: string };

/** `/kodah` then whitespace or the end of the line: `/kodahfix` is a different word. */
const COMMAND = /^[ \t]*\/kodah(?=\s|$)/i;
const QUOTE = /^[ \t]*>/;
/** An unknown word is echoed back in the reply; a long one is noise. */
const MAX_WORD_LENGTH = 40;

/** The `/kodah …` command of a comment, or null when the comment is not a command. */
export function parseCommand(body: string): KodahCommand | null {
  // Sanitised first, so the command is read as it renders: a hidden HTML comment above it does not
  // hide it, a `/kodah` inside one is not a command, a zero-width space cannot split the word.
  const lines = sanitizeText(body).split('\n');
  const at = lines.findIndex((line) => line.trim() !== '' && !QUOTE.test(line));
  const line = at >= 0 ? lines[at]! : '';
  const match = COMMAND.exec(line);
  if (!match) return null;
  const rest = line.slice(match[0].length);
  // The command word comes from the command's own line; the lines below are context only.
  const word = /^\s*(\S*)/.exec(rest)![1]!;
  switch (word.toLowerCase()) {
    case '':
    case 'help':
      return { name: 'help' };
    case 'retry':
      return { name: 'retry' };
    case 'cancel':
      return { name: 'cancel' };
    case 'fix': {
      const after = rest.slice(rest.indexOf(word) + word.length);
      return { name: 'fix', context: sanitizeText([after, ...lines.slice(at + 1)].join('\n')) };
    }
    default:
      return { name: 'unknown', word: [...word].slice(0, MAX_WORD_LENGTH).join('') };
  }
}

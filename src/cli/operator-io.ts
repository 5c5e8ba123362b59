import { readFile } from 'node:fs/promises';

/** Writes a command's result to stdout: as indented JSON for scripts, or as the text for people. */
export function print(json: boolean, value: unknown, text: string): void {
  process.stdout.write(json ? `${JSON.stringify(value, null, 2)}\n` : `${text}\n`);
}

/** A text file named on the command line, where "-" means standard input (a bug report piped in). */
export function readInputFile(file: string): Promise<string> {
  return readFile(file === '-' ? '/dev/stdin' : file, 'utf8');
}

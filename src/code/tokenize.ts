/**
 * Code-aware tokens: every identifier is kept whole (lower-cased) and also split into its
 * camelCase / snake_case / digit-separated parts, so "parse_HTTPHeader" matches "parse",
 * "http", "header" and "parse_httpheader".
 */
const WORD = /[A-Za-z_][A-Za-z0-9_]*/g;
const PART = /[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+/g;

const STOP = new Set(
  (
    'a an and are as at be but by for from has have if in into is it its of on or that the their then there these this to ' +
    'was were will with not no can could should would do does did so than too very just also only when where which who ' +
    'how what why all any each some such we you i he she they them my our your me us use used using get got make made ' +
    'one two may might must shall been being here out up down over under again further once both few more most other ' +
    'own same s t don now self def return import none true false elif else try except finally while pass class lambda ' +
    'yield raise assert del global nonlocal async await cls args kwargs'
  ).split(' '),
);

/** Tokens of a text for indexing or querying; repeated tokens are repeated (term frequency). */
export function tokenize(text: string): string[] {
  const out: string[] = [];
  for (const match of text.matchAll(WORD)) {
    const word = match[0];
    if (word.length > 64) continue;
    const lower = word.toLowerCase();
    const parts = word.match(PART) ?? [];
    if (lower.length >= 2 && !STOP.has(lower)) out.push(lower);
    if (parts.length > 1) {
      for (const part of parts) {
        const p = part.toLowerCase();
        if (p.length >= 2 && p !== lower && !STOP.has(p) && !/^[0-9]+$/.test(p)) out.push(p);
      }
    }
  }
  return out;
}

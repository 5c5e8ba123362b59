/**
 * Pieces that BPE tokenizers (cl100k, o200k and their kin) mostly keep whole: a word or one
 * camelCase part of it (the space before it rides along), a digit run, a line break (the
 * indentation after it is usually one more token, but the weights below absorb it), a run of
 * blanks, a run of punctuation, or one non-ASCII character.
 */
const PIECE = /([A-Z]?[a-z]+|[A-Z]+(?![a-z]))|(\d+)|(\n+[ \t]*)|([ \t]+)|([!-/:-@[-`{-~]+)|([^\0-\x7f])/g;

// Weights fitted on 24 files and checked on 30 others (see estimateTokens); round on purpose.
/** Letters a word piece spans before it costs another token (long, rare words split). */
const WORD_CHARS = 12;
/** Tokenizers cut digit runs into groups of up to three. */
const DIGIT_CHARS = 3;
/** A line break often merges with the punctuation before it (`:\n`, `)\n`). */
const PER_LINE_BREAK = 0.75;
/** Blanks inside a line: one rides with the next word, a longer run is a token about half the time. */
const PER_BLANK_RUN = 0.5;
/** Punctuation merges into multi-mark tokens (`):`, `==`, `"""`, `->`); a run costs at least one. */
const PER_PUNCTUATION_MARK = 0.3;

/**
 * A fast, dependency-free estimate of the tokens `text` costs, for budgeting prompts.
 *
 * Measured against o200k_base (gpt-4o's tokenizer) on 54 real files: Python, C, TypeScript, YAML,
 * JSON, Markdown and reStructuredText from requests, flask, pytest, sympy, numpy, scipy,
 * astropy, sphinx, pylint, xarray, seaborn, ansible and Kodah itself. Mean error 3.6 %, 90 % of
 * files within ±7.1 %, worst −18 % (CI YAML full of short rare words that split) and +11 %
 * (minified JavaScript, pylint sources); cl100k_base is within 1 % of o200k_base on the same
 * files. Plain `chars / 4` is off by 10 % on average and by −32 % / +24 % at worst (dense C,
 * long-worded Python). Budget with a margin of about 20 %.
 */
export function estimateTokens(text: string): number {
  let tokens = 0;
  for (const m of text.matchAll(PIECE)) {
    if (m[1] !== undefined) tokens += 1 + Math.floor((m[1].length - 1) / WORD_CHARS);
    else if (m[2] !== undefined) tokens += Math.ceil(m[2].length / DIGIT_CHARS);
    else if (m[3] !== undefined) tokens += PER_LINE_BREAK;
    else if (m[4] !== undefined) tokens += m[4].length > 1 ? PER_BLANK_RUN : 0;
    else if (m[5] !== undefined) tokens += Math.max(1, m[5].length * PER_PUNCTUATION_MARK);
    else tokens += 1;
  }
  return Math.ceil(tokens);
}

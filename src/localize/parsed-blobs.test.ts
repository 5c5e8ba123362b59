import { expect, it } from 'vitest';
import { parsedBlob } from './parsed-blobs.js';

const source = `"""Codes."""
import re


def encode(text):
    return ''.join(morse_char[c] for c in text)


# Morse code, letter by dot and dash
morse_char = {
    ".-": "A",
    "-...": "B",
    "----": "1",
}
char_morse = {v: k for k, v in morse_char.items()}

x = 1

# the decoder

@cache
def decode(text):
    return text


PATTERN = re.compile(
    r"[.-]+"
)
`;

it('ranks the module-level tables between definitions on their own, named by what they assign', async () => {
  const blob = await parsedBlob('a'.repeat(40), 'crypto.py', () => source);
  const blocks = blob.snippets.filter((s) => s.kind === 'lines');
  // Comments around a block and a decorator are left out; the code after the last definition is
  // a block too.
  expect(blocks.map((b) => [b.name, b.startLine, b.endLine])).toEqual([
    ['morse_char', 10, 17],
    ['PATTERN', 26, 28],
  ]);
  expect(blocks[0]!.text).toContain('"----": "1"');
  // Ranked with the functions: each block has its terms.
  expect(blob.terms).toHaveLength(blob.snippets.length);
});

it('ranks a file tree-sitter gives up on by windows of its lines', async () => {
  const blob = await parsedBlob('b'.repeat(40), 'broken.py', () => 'def f(\n'.repeat(30_000));
  expect(blob.snippets.length).toBeGreaterThan(0);
  expect(blob.snippets.every((s) => s.kind === 'lines')).toBe(true);
}, 10_000);

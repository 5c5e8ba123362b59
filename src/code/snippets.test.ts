import { describe, expect, it } from 'vitest';
import { extractSnippets, syntaxErrors } from './snippets.js';
import { ParseGivenUp } from './tree-sitter.js';

const SOURCES: Array<[string, string, string[]]> = [
  [
    'a.py',
    'class Cart:\n    def total(self, items):\n        return sum(items)\n\ndef helper(x):\n    return x\n',
    ['class Cart', 'method Cart.total', 'function helper'],
  ],
  [
    'a.js',
    'class Cart {\n  total(items) { return 1; }\n}\nfunction helper(x) { return x; }\nconst arrow = (y) => y;\n',
    ['class Cart', 'method Cart.total', 'function helper', 'function arrow'],
  ],
  [
    'a.ts',
    'interface Item { price: number }\nexport class Cart {\n  total(items: Item[]): number { return 0; }\n}\n',
    ['class Item', 'class Cart', 'method Cart.total'],
  ],
  ['a.tsx', 'export function View(props: {n: number}) { return <div>{props.n}</div>; }\n', ['function View']],
  [
    'a.go',
    'package main\ntype Cart struct{}\nfunc (c *Cart) Total() int { return 0 }\nfunc helper() {}\n',
    ['class Cart', 'function Total', 'function helper'],
  ],
  ['A.java', 'class Cart {\n  Cart() {}\n  int total() { return 0; }\n}\n', ['class Cart', 'method Cart.Cart', 'method Cart.total']],
  [
    'a.rs',
    'struct Cart;\nimpl Cart {\n    fn total(&self) -> i32 { 0 }\n}\nfn helper() {}\n',
    ['class Cart', 'class Cart', 'method Cart.total', 'function helper'],
  ],
  ['a.c', 'struct cart { int n; };\nint total(struct cart *c) { return c->n; }\n', ['class cart', 'function total']],
  [
    'a.cpp',
    'class Cart {\n public:\n  int total() { return 0; }\n};\nint Cart::size() { return 1; }\n',
    ['class Cart', 'method Cart.total', 'function Cart::size'],
  ],
  [
    'a.rb',
    'module Shop\n  class Cart\n    def total\n      0\n    end\n  end\nend\n',
    ['class Shop', 'class Shop.Cart', 'method Cart.total'],
  ],
  [
    'a.php',
    '<?php\nclass Cart {\n  public function total() { return 0; }\n}\nfunction helper() {}\n',
    ['class Cart', 'method Cart.total', 'function helper'],
  ],
  ['A.cs', 'class Cart {\n  public int Total() { return 0; }\n}\n', ['class Cart', 'method Cart.Total']],
];

describe('tree-sitter snippets', () => {
  it.each(SOURCES)('%s', async (file, source, expected) => {
    const snippets = await extractSnippets(file, source);
    expect(snippets.map((s) => `${s.kind} ${s.kind === 'class' && s.enclosing ? `${s.enclosing}.${s.name}` : s.qualifiedName}`)).toEqual(
      expected,
    );
  });

  it('keeps line ranges and signatures', async () => {
    const [, method] = await extractSnippets('cart.py', SOURCES[0]![1]);
    expect(method).toMatchObject({ startLine: 2, endLine: 3, signature: 'def total(self, items)', enclosing: 'Cart', language: 'python' });
    expect(method!.text).toBe('def total(self, items):\n        return sum(items)');
  });

  it('falls back to windows of lines for other files', async () => {
    const text = Array.from({ length: 130 }, (_, i) => `line ${i}`).join('\n');
    const windows = await extractSnippets('notes.txt', text);
    expect(windows.map((w) => [w.kind, w.startLine, w.endLine])).toEqual([
      ['lines', 1, 60],
      ['lines', 61, 120],
      ['lines', 121, 130],
    ]);
  });

  it('reports syntax errors by line, and none for valid code', async () => {
    expect(await syntaxErrors('ok.py', 'def f(x):\n    return x\n')).toEqual([]);
    expect(await syntaxErrors('bad.py', 'def f(x):\n    return (x\n\ndef g(:\n    pass\n')).not.toEqual([]);
    expect(await syntaxErrors('bad.ts', 'function f( {\n')).not.toEqual([]);
    expect(await syntaxErrors('notes.txt', '(((')).toEqual([]);
  });
});

it('parses with one parser per language: WASM memory stays flat over thousands of parses', async () => {
  await extractSnippets('warm.py', 'x = 1\n');
  const before = process.memoryUsage().external;
  for (let i = 0; i < 3000; i++) await extractSnippets('f.py', `def f${i}():\n    return ${i}\n`);
  // WASM memory only grows; a parser made per parse and never deleted grew it by about 14 MB here.
  expect(process.memoryUsage().external - before).toBeLessThan(4 * 1024 * 1024);
});

it('gives up a parse that tree-sitter’s error recovery would take minutes over, and parses the next file afresh', async () => {
  // 210 KB of unclosed definitions: quadratic error recovery, about 10 s here; the limit is under 1 s.
  const broken = 'def f(\n'.repeat(30_000);
  await expect(extractSnippets('broken.py', broken)).rejects.toThrow(ParseGivenUp);
  await expect(syntaxErrors('broken.py', broken)).rejects.toThrow(/gave up on 205 KB of python after \d+ ms/);
  // The parser is shared: a given-up parse must not be resumed by the next one.
  expect((await extractSnippets('a.py', 'def ok():\n    return 1\n')).map((s) => s.name)).toEqual(['ok']);
}, 10_000);

import { describe, expect, it } from 'vitest';
import { bareMentions } from '../../test/helpers/bare-mentions.js';
import {
  closesFence,
  codeSpan,
  cutChars,
  fenceFor,
  longestBacktickRun,
  openingFence,
  safeInline,
  safeInlineText,
  safeMarkdown,
  safeUrl,
  tableCells,
  userMarkdown,
} from './safe-markdown.js';

describe('fences', () => {
  it('are longer than the longest backtick run inside, and at least three', () => {
    expect(longestBacktickRun('no ticks')).toBe(0);
    expect(longestBacktickRun('a ``` b ` c ````` d')).toBe(5);
    expect(fenceFor('plain')).toBe('```');
    expect(fenceFor('`one` and ``two``')).toBe('```');
    expect(fenceFor('```\ncode\n```')).toBe('````');
    expect(fenceFor('````````````')).toBe('`'.repeat(13));
    // A tilde fence inside cannot close a backtick fence.
    expect(fenceFor('~~~~~~\n@x')).toBe('```');
  });

  it('open on backtick or tilde runs of three or more, indented at most three spaces', () => {
    expect(openingFence('```py')).toEqual({ char: '`', length: 3, indent: 0 });
    expect(openingFence('  ~~~~ sh')).toEqual({ char: '~', length: 4, indent: 2 });
    expect(openingFence('~~~ a`b')).toEqual({ char: '~', length: 3, indent: 0 });
    expect(openingFence('``` a`b')).toBeNull();
    expect(openingFence('    ```')).toBeNull();
    expect(openingFence('``')).toBeNull();
  });

  it('close only with the same character, at least as long, and nothing after', () => {
    const fence = { char: '`', length: 4, indent: 0 };
    expect(closesFence('````', fence)).toBe(true);
    expect(closesFence('   `````  ', fence)).toBe(true);
    expect(closesFence('```', fence)).toBe(false);
    expect(closesFence('~~~~', fence)).toBe(false);
    expect(closesFence('```` x', fence)).toBe(false);
  });

  it('keep what is inside them and close one left open, ~~~ fences included', () => {
    expect(safeMarkdown('~~~\n@alice <b>\n~~~\n@bob')).toBe('~~~\n@alice <b>\n~~~\n`@bob`');
    // A backtick line cannot close a tilde fence, nor a shorter run a longer fence.
    expect(safeMarkdown('~~~\n```\n@alice\n~~~')).toBe('~~~\n```\n@alice\n~~~');
    expect(safeMarkdown('`````\n```\n@alice')).toBe('`````\n```\n@alice\n`````');
    expect(safeMarkdown('~~~~\n@alice')).toBe('~~~~\n@alice\n~~~~');
    expect(bareMentions(safeMarkdown('`````\n```\n@alice\n```\n@bob'))).toEqual([]);
  });
});

describe('codeSpan', () => {
  it('outnumbers the backticks inside, pads a span that starts or ends with one, and says (none) for nothing', () => {
    expect(codeSpan('src/a.py')).toBe('`src/a.py`');
    expect(codeSpan('a`b')).toBe('``a`b``');
    expect(codeSpan('`tick')).toBe('`` `tick ``');
    expect(codeSpan('x ``` y')).toBe('````x ``` y````');
    expect(codeSpan('')).toBe('(none)');
    expect(codeSpan('\u200b')).toBe('(none)');
  });

  it('keeps a mention inside as code, flattens lines and cuts long text', () => {
    expect(codeSpan('@alice')).toBe('`@alice`');
    expect(codeSpan('two\nlines')).toBe('`two lines`');
    expect(codeSpan('x'.repeat(500))).toBe(`\`${'x'.repeat(199)}…\``);
    expect(codeSpan('x'.repeat(500), 10)).toBe(`\`${'x'.repeat(9)}…\``);
  });
});

describe('safeInline', () => {
  it('escapes HTML outside code and keeps it inside', () => {
    expect(safeInline('<script>alert(1)</script> & <img src=x onerror=alert(1)>')).toBe(
      '&lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;img src=x onerror=alert(1)&gt;',
    );
    expect(safeInline('use `<div>` & `a && b`')).toBe('use `<div>` &amp; `a && b`');
  });

  it('wraps mentions and team mentions, but not addresses or mentions inside code', () => {
    expect(safeInline('ping @alice and @octo-org/core-team')).toBe('ping `@alice` and `@octo-org/core-team`');
    expect(safeInline('`@decorator` and ``@a ` b``')).toBe('`@decorator` and ``@a ` b``');
    expect(safeInline('me@example.com')).toBe('me@example.com');
    expect(bareMentions(safeInline('`x`@a ``y``@b \\@c'))).toEqual([]);
  });
});

describe('tables', () => {
  it('split at every unescaped pipe, even inside a code span', () => {
    expect(tableCells('| a | b |')).toEqual(['', ' a ', ' b ', '']);
    expect(tableCells('a \\| b | c')).toEqual(['a \\| b ', ' c']);
    expect(tableCells('| `x | y` |')).toEqual(['', ' `x ', ' y` ', '']);
  });

  it('make each cell safe on its own, so a span cannot run across cells', () => {
    const out = safeMarkdown('| who | what |\n|---|---|\n| `x | @alice` | <b>@bob</b> |');
    expect(out).toBe('| who | what |\n|---|---|\n| \\`x | `@alice` \\` | &lt;b&gt;`@bob`&lt;/b&gt; |');
    expect(bareMentions(out)).toEqual([]);
  });
});

describe('safeUrl', () => {
  it.each([
    ['https://github.com/acme/widgets/pull/13', 'https://github.com/acme/widgets/pull/13'],
    ['javascript:alert(1)', null],
    ['JAVASCRIPT:alert(1)//https://x', null],
    ['http://github.com/acme/widgets/pull/13', null],
    ['data:text/html,<script>alert(1)</script>', null],
    ['https://x/pull/1) [click](https://evil', null],
    ['https://x/<b>', null],
    ['https://x/a b', null],
    ['https://x/"onmouseover', null],
    [`https://x/${'a'.repeat(2_000)}`, null],
    ['', null],
    [null, null],
  ])('%s', (url, expected) => {
    expect(safeUrl(url)).toBe(expected);
  });
});

describe('cuts', () => {
  it('never end between the halves of a surrogate pair', () => {
    expect(cutChars('short', 10)).toBe('short');
    expect(cutChars('🐛🐛', 3)).toBe('🐛');
    expect(cutChars('🐛', 1)).toBe('');
    expect(cutChars('abc', 0)).toBe('');
  });

  it('keep inline text on one line, capped, with no trailing backslash to escape what follows', () => {
    expect(safeInlineText('one\ntwo\t three', 100)).toBe('one two three');
    expect(safeInlineText('x'.repeat(50), 10)).toBe(`${'x'.repeat(9)}…`);
    expect(safeInlineText('ends with \\', 100)).toBe('ends with \\ ');
  });

  it('keep very long hostile Markdown under its cap, safe, and say it was cut', () => {
    const line = '@alice `open ``` <img src=x> | @org/team ~~~ \\';
    const input = Array.from({ length: 40_000 }, (_, i) => `${line} ${i}`).join('\n');
    expect(input.length).toBeGreaterThan(1_000_000);
    const started = performance.now();
    const out = userMarkdown(input, 12_000);
    expect(performance.now() - started).toBeLessThan(5_000);
    expect(out.length).toBeLessThanOrEqual(12_000);
    expect(out.length).toBeGreaterThan(6_000);
    expect(out).toContain('[… cut]');
    expect(out).not.toContain('<img');
    expect(bareMentions(out)).toEqual([]);
    // With fences opened and left open along the way: what is outside them is still safe.
    const fenced = Array.from({ length: 40_000 }, (_, i) => (i % 49 === 48 ? '```' : `${line} ${i}`)).join('\n');
    const cut = userMarkdown(fenced, 12_000);
    expect(cut.length).toBeLessThanOrEqual(12_000);
    expect(bareMentions(cut)).toEqual([]);
    expect(userMarkdown(null, 100)).toBe('');
  });
});

describe('mentions', () => {
  const render = (explanation: string) => userMarkdown(explanation, 12_000);

  it.each([
    ['@alice', '`@alice`'],
    ['(@alice)', '(`@alice`)'],
    ['mail me at me@example.com', 'mail me at me@example.com'],
    ['`code` then @alice', '`code` then `@alice`'],
    ['`code`@alice', '`code` `@alice`'],
    ['@alice`code`', '`@alice` `code`'],
    ['a stray ` then @alice', 'a stray \\` then `@alice`'],
    ['`open @alice` and ` unclosed @bob', '`open @alice` and \\` unclosed `@bob`'],
    ['`a\\` @alice`', '`a\\` `@alice` \\`'],
    ['\\`@alice', '\\` `@alice`'],
    ['\\@alice', '\\ `@alice`'],
    ['&#64;alice', '&amp;#64;alice'],
    ['``a ` @alice``', '``a ` @alice``'],
    // After a code span or emphasis GitHub's text starts afresh: `a@b` is an address, `x`@b is not.
    ['@carol@bob', '`@carol` `@bob`'],
    ['_a_@bob', '_a_`@bob`'],
    ['é@bob', 'é`@bob`'],
  ])('%s', (input, expected) => {
    expect(render(input)).toBe(expected);
    expect(bareMentions(render(input))).toEqual([]);
  });

  it('treats every unescaped pipe as a cell boundary once the text has a table', () => {
    const out = render('| a | b |\n|---|---|\n| `x | @alice` | ok |');
    expect(out).toBe('| a | b |\n|---|---|\n| \\`x | `@alice` \\` | ok |');
  });

  it('ends a list item\u2019s fence where the item ends, and closes a fence left open', () => {
    // GitHub ends the item at `@alice` and reads the last line as a new fence, left open: so here.
    expect(render('- item\n  ```\n  @kept\n@alice\n  ```')).toBe('- item\n  ```\n  @kept\n`@alice`\n  ```\n```');
    expect(render('```\n@inside')).toBe('```\n@inside\n```');
  });

  it('does not take a backtick fence with a backtick in its info string for a fence', () => {
    expect(render('``` a`b\n@alice')).toBe('\\`\\`\\` a\\`b\n`@alice`');
  });
});

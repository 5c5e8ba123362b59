import { describe, expect, it } from 'vitest';
import { html, jsonScriptContent } from './html.js';

describe('html', () => {
  it('escapes every interpolation, in text and in attributes', () => {
    const evil = `<script>alert("x")</script>' onload='x' \``;
    expect(html`<p title="${evil}">${evil}</p>`.value).toBe(
      '<p title="&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&#39; onload=&#39;x&#39; &#96;">' +
        '&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&#39; onload=&#39;x&#39; &#96;</p>',
    );
  });

  it('keeps what the tag made, escapes arrays item by item, and drops null, undefined and false', () => {
    const items = ['<a>', html`<b>${'&'}</b>`];
    const list = items.map((i) => html`<li>${i}</li>`);
    // Prettier would lay the markup out on several lines, and the expected string would follow.
    // prettier-ignore
    const made = html`<ul>${list}</ul>${null}${undefined}${false}${0}`;
    expect(made.value).toBe('<ul><li>&lt;a&gt;</li><li><b>&amp;</b></li></ul>0');
  });

  it('puts a value in a JSON script element that no text in it can close, and that parses back to the value', () => {
    const evil = '</script><script>alert(1)</script><!-- \u2028 & >';
    const made = jsonScriptContent({ diff: evil }).value;
    expect(made).not.toMatch(/[<>&]/);
    expect(JSON.parse(made)).toEqual({ diff: evil });
  });
});

import { describe, expect, it } from 'vitest';
import { estimateTokens } from './count-tokens.js';

// Real text with its o200k_base (gpt-4o) token count, measured with tiktoken.
const samples: Array<{ name: string; text: string; tokens: number }> = [
  {
    name: 'Python (requests)',
    text: `    def prepare_url(
        self,
        url: _t.UriType,
        params: _t.ParamsType,
    ) -> None:
        """Prepares the given HTTP URL."""
        #: Accept objects that have string representations.
        #: We're unable to blindly call unicode/str functions
        #: as this will include the bytestring indicator (b'')
        #: on python 3.x.
        #: https://github.com/psf/requests/pull/2238
        if isinstance(url, bytes):
            url = url.decode("utf8")
        else:
            url = str(url)
`,
    tokens: 123,
  },
  {
    name: 'TypeScript',
    text: `export async function waitForHealthy(url: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if ((await fetch(\`\${url}/healthz\`)).ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(\`not healthy after \${timeoutMs} ms\`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
`,
    tokens: 108,
  },
  {
    name: 'a bug report',
    text: 'When I call requests.get with a URL that contains a fragment, the fragment is dropped and the redirect fails with a 404. Expected the fragment to be kept.',
    tokens: 33,
  },
];

describe('estimateTokens', () => {
  it.each(samples)('is within 15 % of a real tokenizer on $name', ({ text, tokens }) => {
    expect(Math.abs(estimateTokens(text) - tokens) / tokens).toBeLessThan(0.15);
  });

  it('counts dense code higher than chars / 4 would, and nothing as nothing', () => {
    // 31 characters (8 by chars / 4), 24 o200k tokens: punctuation and digits do not merge the way prose does.
    expect(estimateTokens('a[0]=b[1]+c[2]*(d-4)/e{5};f!=6;')).toBeGreaterThanOrEqual(16);
    expect(estimateTokens('')).toBe(0);
    expect(estimateTokens('  \n\n')).toBeLessThanOrEqual(2);
  });

  it('grows with the text', () => {
    const text = samples[0]!.text;
    expect(estimateTokens(text + text)).toBeGreaterThanOrEqual(2 * estimateTokens(text) - 1);
  });
});

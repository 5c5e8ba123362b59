import { describe, expect, it } from 'vitest';
import { checkRepoUrl, isInternalAddress, parseRepoUrl, type ResolveHost } from './url-policy.js';

const strict = { allowedHosts: ['github.com'], allowLocal: false };
const local = { allowedHosts: ['github.com'], allowLocal: true };

describe('repository URL policy', () => {
  it('normalises a GitHub URL', () => {
    expect(parseRepoUrl(' https://github.com/owner/repo/ ', strict).toString()).toBe('https://github.com/owner/repo');
    expect(parseRepoUrl('https://GitHub.com/owner/repo.git', strict).toString()).toBe('https://github.com/owner/repo.git');
  });

  it.each([
    ['http://github.com/a/b', /must use https/],
    ['git://github.com/a/b', /must use https/],
    ['ssh://git@github.com/a/b', /must use https/],
    ['file:///etc/passwd', /must use https/],
    ['ext::sh -c touch% /tmp/pwned', /must be a full URL|must use https/],
    ['https://token@github.com/a/b', /credentials/],
    ['https://github.com/a/b?x=1', /query/],
    ['https://github.com/a', /must name a repository/],
    ['https://github.com/a/../b', /must name a repository/],
    ['https://github.com/a/b%0a', /must name a repository/],
  ])('refuses %s', (url, message) => {
    let error: unknown;
    try {
      parseRepoUrl(url, strict);
    } catch (err) {
      error = err;
    }
    expect(String((error as Error)?.message)).toMatch(message);
  });

  it.each([
    ['127.0.0.1', true],
    ['10.1.2.3', true],
    ['172.16.0.1', true],
    ['192.168.1.1', true],
    ['169.254.169.254', true],
    ['100.64.0.1', true],
    ['0.0.0.0', true],
    ['::1', true],
    ['fd00::1', true],
    ['fe80::1', true],
    ['::ffff:127.0.0.1', true],
    ['140.82.112.3', false],
    ['2606:4700::1111', false],
  ])('%s internal: %s', (address, internal) => {
    expect(isInternalAddress(address)).toBe(internal);
  });

  it('refuses loopback and metadata addresses unless local git is allowed', async () => {
    await expect(checkRepoUrl('https://127.0.0.1/a/b', strict)).rejects.toThrow(/internal address/);
    await expect(checkRepoUrl('https://169.254.169.254/a/b', strict)).rejects.toThrow(/internal address/);
    await expect(checkRepoUrl('https://localhost/a/b', strict)).rejects.toThrow(/host localhost is not allowed/);
    await expect(checkRepoUrl('https://github.com/a/b', strict, async () => ['10.0.0.5'])).rejects.toThrow(/internal address/);
    await expect(checkRepoUrl('https://[::1]/a/b', strict)).rejects.toThrow(/internal address/);
    expect(await checkRepoUrl('http://127.0.0.1:8080/a/b.git', local)).toMatchObject({
      host: '127.0.0.1',
      port: 8080,
      address: '127.0.0.1',
    });
  });

  it('refuses hosts off the allow-list, and plain http to public hosts even with local git', async () => {
    await expect(checkRepoUrl('https://8.8.8.8/a/b', local)).rejects.toThrow(/host 8.8.8.8 is not allowed/);
    await expect(checkRepoUrl('http://8.8.8.8/a/b', { allowedHosts: ['8.8.8.8'], allowLocal: true })).rejects.toThrow(/must use https/);
  });

  it('checks the allow-list before any DNS lookup', async () => {
    const asked: string[] = [];
    const resolve: ResolveHost = async (host) => {
      asked.push(host);
      return ['140.82.112.3'];
    };
    await expect(checkRepoUrl('https://gitlab.com/a/b', strict, resolve)).rejects.toThrow(
      /host gitlab.com is not allowed \(allowed: github.com\)/,
    );
    await expect(checkRepoUrl('https://gitlab.com/a/b', local, resolve)).rejects.toThrow(/host gitlab.com is not allowed/);
    // With local git, unlisted hosts are local IP literals and localhost only: a name is not looked up to find out.
    await expect(checkRepoUrl('http://git.internal/a/b', local, resolve)).rejects.toThrow(/host git.internal is not allowed/);
    expect(asked).toEqual([]);
    expect(await checkRepoUrl('https://github.com/a/b', strict, resolve)).toMatchObject({ host: 'github.com', address: '140.82.112.3' });
    expect(asked).toEqual(['github.com']);
  });

  it('an allowed host that does not resolve is unreachable (retryable), not a missing repository', async () => {
    const policy = { allowedHosts: ['github.com'], allowLocal: false };
    const failing: ResolveHost = async () => {
      throw Object.assign(new Error('getaddrinfo EAI_AGAIN github.com'), { code: 'EAI_AGAIN' });
    };
    const error = await checkRepoUrl('https://github.com/a/b', policy, failing).catch((err: unknown) => err);
    expect(error).toMatchObject({ code: 'repository_unavailable', retryable: true });
    expect((error as Error).message).toBe(
      'Could not reach the repository host github.com: its name could not be resolved (EAI_AGAIN). Try again later.',
    );
    const missing = await checkRepoUrl('https://github.com/a/b', policy, async () => {
      throw Object.assign(new Error('getaddrinfo ENOTFOUND'), { code: 'ENOTFOUND' });
    }).catch((err: unknown) => err);
    expect(missing).toMatchObject({ code: 'repository_unavailable' });
  });
});

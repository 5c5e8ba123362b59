import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../lib/logger.js';
import { eventContext } from './event-context.js';
import type { GitHubDeps } from './github-deps.js';

/** Deps with a logger that keeps its lines and an API that counts the clients asked for. */
function fakeDeps() {
  const lines: Array<Record<string, unknown>> = [];
  const clients: number[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  const deps = {
    log: createLogger('info', sink),
    api: {
      installation(id: number) {
        clients.push(id);
        return { id };
      },
    },
  } as unknown as GitHubDeps;
  return { deps, lines, clients };
}

describe('eventContext', () => {
  it('logs every line with the delivery, the installation and the repository', () => {
    const { deps, lines } = fakeDeps();
    const ctx = eventContext(deps, { delivery: 'd-1', installationId: 42, fullName: 'octo/widgets' });
    expect(ctx).toMatchObject({ delivery: 'd-1', installationId: 42, fullName: 'octo/widgets', repo: { owner: 'octo', repo: 'widgets' } });
    ctx.log.child({ issue: 7 }).info('hello');
    expect(lines[0]).toMatchObject({ delivery: 'd-1', installationId: 42, repo: 'octo/widgets', issue: 7, msg: 'hello' });
  });

  it('has no repository fields for an installation-wide event, and no delivery for a stored task', () => {
    const { deps, lines } = fakeDeps();
    const installation = eventContext(deps, { delivery: 'd-2', installationId: 43 });
    expect(installation).not.toHaveProperty('repo');
    expect(installation).not.toHaveProperty('fullName');
    installation.log.info('installed');
    expect(lines[0]).toMatchObject({ delivery: 'd-2', installationId: 43 });
    expect(lines[0]).not.toHaveProperty('repo');

    eventContext(deps, { delivery: null, installationId: 44, fullName: 'octo/gadgets' }).log.info('answered');
    expect(lines[1]).toMatchObject({ installationId: 44, repo: 'octo/gadgets' });
    expect(lines[1]).not.toHaveProperty('delivery');
  });

  it('asks for the installation client only when a handler uses it', () => {
    const { deps, clients } = fakeDeps();
    const ctx = eventContext(deps, { delivery: 'd-3', installationId: 45, fullName: 'octo/widgets' });
    expect(clients).toEqual([]);
    expect(ctx.octokit).toEqual({ id: 45 });
    expect({ ...ctx }.octokit).toEqual({ id: 45 });
    expect(clients).toEqual([45, 45]);
  });
});

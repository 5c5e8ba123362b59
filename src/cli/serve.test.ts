import { expect, it } from 'vitest';
import { createLogger } from '../lib/logger.js';
import { runUntilSignal } from './serve.js';

it('a SIGTERM while the process is still starting drains it once started, instead of killing it mid-start', async () => {
  const events: string[] = [];
  const log = createLogger('silent', process.stderr);
  const exits: number[] = [];
  const listeners = { term: process.listenerCount('SIGTERM'), int: process.listenerCount('SIGINT') };
  const done = runUntilSignal(
    async () => {
      // The API already answers at this point; the process manager stops it.
      process.emit('SIGTERM', 'SIGTERM');
      await new Promise((r) => setTimeout(r, 20));
      events.push('started');
      return { log, stop: async () => void events.push('stopped') };
    },
    (code) => exits.push(code),
  );
  await done;
  expect(events).toEqual(['started', 'stopped']);
  // Drained once; the handlers are gone, so a second signal ends the process as it normally would.
  expect({ term: process.listenerCount('SIGTERM'), int: process.listenerCount('SIGINT') }).toEqual(listeners);
  expect(exits).toEqual([]);
});

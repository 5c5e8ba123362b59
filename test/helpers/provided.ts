import { inject } from 'vitest';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Compiled CLI entry for spawned `kodah` processes (see build-cli.ts). */
    kodahCli: string;
    /** An initdb'ed PGlite data folder to copy for each test database (see pglite-template.ts). */
    pgliteTemplate: string;
  }
}

/** What test/helpers/global-setup.ts provided; undefined outside a vitest run that ran it. */
export function provided(key: 'kodahCli' | 'pgliteTemplate'): string | undefined {
  try {
    return inject(key);
  } catch {
    return undefined;
  }
}

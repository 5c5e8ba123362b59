import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { cutBlob, type StoredSnippet } from './cut-blob.js';

export interface CutRequest {
  id: number;
  files: Array<{ path: string; text: string }>;
}
export type CutOutcome = { ok: true; snippets: StoredSnippet[] } | { ok: false; error: string };
export interface CutResponse {
  id: number;
  files: CutOutcome[];
}

interface Pending {
  resolve: (files: CutOutcome[]) => void;
  reject: (err: Error) => void;
}

/**
 * Threads that cut files into snippets, so parsing uses every core and never blocks the API on
 * the same process. With one thread (or one core) the work runs inline, as it does once every
 * thread has died.
 */
export class SnippetPool {
  readonly #workers: Worker[] = [];
  readonly #idle: Worker[] = [];
  readonly #waiting: Array<(w: Worker) => void> = [];
  readonly #pending = new Map<Worker, Pending>();
  #next = 0;

  constructor(threads: number, onError: (err: Error) => void = () => {}) {
    const count = threads > 0 ? threads : availableParallelism();
    if (count <= 1) return;
    const source = import.meta.url.endsWith('.ts');
    const url = new URL(source ? './snippet-worker.ts' : './snippet-worker.js', import.meta.url);
    // From source (tests, tsx) the thread registers tsx's loader itself before importing the worker.
    const bootstrap = `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(url.href)}); })`;
    for (let i = 0; i < count; i++) {
      const worker = source ? new Worker(bootstrap, { eval: true }) : new Worker(url);
      worker.unref();
      worker.on('message', (response: CutResponse) => {
        const pending = this.#pending.get(worker);
        this.#pending.delete(worker);
        this.#release(worker);
        pending?.resolve(response.files);
      });
      // A thread that dies (out of memory in a pathological file) fails its batch and is not reused.
      worker.on('error', (err) => {
        onError(err);
        this.#pending.get(worker)?.reject(err);
        this.#pending.delete(worker);
        this.#workers.splice(this.#workers.indexOf(worker), 1);
        if (this.#idle.includes(worker)) this.#idle.splice(this.#idle.indexOf(worker), 1);
      });
      this.#workers.push(worker);
      this.#idle.push(worker);
    }
  }

  /** Threads working (0 when the work runs inline). */
  get threads(): number {
    return this.#workers.length;
  }

  /** Cuts a batch of files; outcomes in the order given. */
  async cut(files: Array<{ path: string; text: string }>): Promise<CutOutcome[]> {
    if (this.#workers.length === 0) {
      const out: CutOutcome[] = [];
      for (const f of files)
        out.push(
          await cutBlob(f.path, f.text).then(
            (snippets) => ({ ok: true as const, snippets }),
            (err: Error) => ({ ok: false as const, error: err.message }),
          ),
        );
      return out;
    }
    const worker = await this.#acquire();
    return new Promise((resolve, reject) => {
      this.#pending.set(worker, { resolve, reject });
      worker.postMessage({ id: ++this.#next, files } satisfies CutRequest);
    });
  }

  #acquire(): Promise<Worker> {
    const worker = this.#idle.pop();
    if (worker) return Promise.resolve(worker);
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  #release(worker: Worker): void {
    const waiter = this.#waiting.shift();
    if (waiter) waiter(worker);
    else this.#idle.push(worker);
  }

  async close(): Promise<void> {
    await Promise.all(this.#workers.map((w) => w.terminate()));
    this.#workers.length = 0;
  }
}

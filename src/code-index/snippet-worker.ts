import { parentPort } from 'node:worker_threads';
import { cutBlob } from './cut-blob.js';
import type { CutRequest, CutResponse } from './snippet-pool.js';

/** A thread of the snippet pool: cuts the files it is sent, one message per batch. */
parentPort!.on('message', async (request: CutRequest) => {
  const response: CutResponse = { id: request.id, files: [] };
  for (const file of request.files) {
    try {
      response.files.push({ ok: true, snippets: await cutBlob(file.path, file.text) });
    } catch (err) {
      response.files.push({ ok: false, error: err instanceof Error ? err.message : String(err) });
    }
  }
  parentPort!.postMessage(response);
});

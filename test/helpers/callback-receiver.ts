import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** One request a receiver got. */
export interface ReceivedCallback {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  /** The raw body, as signed. */
  body: string;
}

/**
 * How the receiver answers one request: a status (a redirect with its location), no answer at all,
 * a 200 whose body never ends, or a 200 whose body stops after a few bytes and never finishes.
 */
export type ReceiverAnswer = number | { status: number; location: string } | 'hang' | 'endless' | 'stall';

export interface CallbackReceiver {
  /** http://127.0.0.1:PORT */
  url: string;
  port: number;
  /** Every request, in order of arrival. */
  received: ReceivedCallback[];
  /** TCP connections accepted, whatever came over them. */
  connections(): number;
  /** The answers for a path, in order; the last one repeats. Unscripted paths answer 200. */
  script(path: string, answers: ReceiverAnswer[]): void;
  /** The requests to one path. */
  at(path: string): ReceivedCallback[];
  /** Resolves once `count` requests reached the path; rejects after `timeoutMs`. */
  waitFor(path: string, count: number, timeoutMs?: number): Promise<ReceivedCallback[]>;
  close(): Promise<void>;
}

/** An HTTP server on 127.0.0.1 that plays a job's callback receiver and records what it gets. */
export async function startCallbackReceiver(): Promise<CallbackReceiver> {
  const received: ReceivedCallback[] = [];
  const scripts = new Map<string, ReceiverAnswer[]>();
  const hung = new Set<ServerResponse>();
  const sockets = new Set<Socket>();
  let connections = 0;

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = req.url ?? '/';
      received.push({ method: req.method ?? '', path, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      const answers = scripts.get(path) ?? [200];
      const answer = answers.length > 1 ? answers.shift()! : answers[0]!;
      if (answer === 'hang') {
        hung.add(res);
        return;
      }
      if (answer === 'stall') {
        res.writeHead(200, { 'content-type': 'text/plain' }).write('ok, and then…');
        hung.add(res);
        return;
      }
      if (answer === 'endless') {
        res.writeHead(200, { 'content-type': 'text/plain' });
        const chunk = 'x'.repeat(16 * 1024);
        const pump = () => {
          while (!res.destroyed && res.write(chunk));
          if (!res.destroyed) res.once('drain', pump);
        };
        pump();
        return;
      }
      if (typeof answer === 'object') {
        res.writeHead(answer.status, { location: answer.location }).end();
        return;
      }
      res.writeHead(answer, { 'content-type': 'application/json' }).end('{"ok":true}');
    });
  });
  server.on('connection', (socket) => {
    connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const at = (path: string) => received.filter((r) => r.path === path);
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    received,
    connections: () => connections,
    script: (path, answers) => scripts.set(path, [...answers]),
    at,
    async waitFor(path, count, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      while (at(path).length < count) {
        if (Date.now() > deadline) throw new Error(`${path} got ${at(path).length} of ${count} callbacks`);
        await new Promise((r) => setTimeout(r, 50));
      }
      return at(path);
    },
    async close() {
      for (const res of hung) res.destroy();
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

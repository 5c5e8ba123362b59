import type { FastifyReply } from 'fastify';

/** A Server-Sent Events answer that has taken over the response. */
export interface EventStream {
  /** One event; `data` is sent as one line of JSON. Does nothing once the stream is closed. */
  send(event: string, data: unknown, id?: number | string): void;
  /** Ends the answer (the client may reconnect with the last id it saw). */
  close(): void;
  /** True once the answer ended or the client went away. */
  readonly closed: boolean;
}

/**
 * Takes the reply over for Server-Sent Events: headers that keep proxies from buffering or
 * transforming it, a `: keep-alive` comment every `keepAliveMs` so idle connections are not cut,
 * and `onClose` exactly once, whether the stream ended here or the client disconnected.
 */
export function openEventStream(
  reply: FastifyReply,
  options: { keepAliveMs: number; onClose: (stream: EventStream) => void },
): EventStream {
  // Fastify no longer serializes or ends this reply: everything below writes to the socket's response.
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  // The client learns the stream is open now, not at the first event.
  res.flushHeaders();
  // Events are small and should arrive as they happen, not when a packet fills.
  res.socket?.setNoDelay(true);
  let closed = false;
  const write = (text: string) => {
    if (!closed && !res.writableEnded && !res.destroyed) res.write(text);
  };
  const stream: EventStream = {
    send(event, data, id) {
      // JSON has no raw newlines, so the data is one `data:` line and cannot forge another field.
      write(`${id === undefined ? '' : `id: ${id}\n`}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    },
    close() {
      if (!res.writableEnded) res.end();
    },
    get closed() {
      return closed || res.writableEnded;
    },
  };
  const keepAlive = setInterval(() => write(': keep-alive\n\n'), options.keepAliveMs);
  const finish = () => {
    if (closed) return;
    closed = true;
    clearInterval(keepAlive);
    options.onClose(stream);
  };
  res.once('close', finish);
  // A client that left while the request was being answered: its 'close' has already been emitted.
  if (res.destroyed || !res.socket || res.socket.destroyed) finish();
  return stream;
}

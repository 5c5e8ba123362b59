import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import type { Logger } from '../lib/logger.js';
import { createCodeIndexServer } from './code-index-tools.js';
import { remoteBackend } from './remote-backend.js';

export interface StdioOptions {
  /** The base URL of the running Kodah whose index to serve. */
  url: string;
  apiKey: string;
  /** Must not write to stdout: stdout carries the protocol. */
  log: Logger;
  stdin?: NodeJS.ReadableStream & { pause(): unknown };
  stdout?: NodeJS.WritableStream;
}

/**
 * The code index as an MCP server on standard input and output, reading a running Kodah over
 * HTTP (the embedded database belongs to that process). Resolves when the client closes stdin.
 */
export async function serveMcpOverStdio(options: StdioOptions): Promise<void> {
  const stdin = options.stdin ?? process.stdin;
  const server = createCodeIndexServer(remoteBackend({ url: options.url, apiKey: options.apiKey }), options.log);
  const transport = new StdioServerTransport(stdin as typeof process.stdin, (options.stdout ?? process.stdout) as typeof process.stdout);
  const closed = new Promise<void>((resolve) => {
    // The transport does not watch for the end of its input; a client that goes away ends us.
    stdin.once('end', resolve);
    stdin.once('close', resolve);
    transport.onclose = resolve;
  });
  transport.onerror = (err) => options.log.warn({ err }, 'MCP stdio transport error');
  await server.connect(transport);
  options.log.info({ url: options.url }, 'MCP server on stdio');
  await closed;
  await server.close();
}

import type { Command } from 'commander';
import { type Config, ConfigError } from '../config.js';
import { createLogger } from '../lib/logger.js';

/** `mcp`: the code index of a running Kodah as an MCP server on stdio, for agents. */
export function addMcpCommand(program: Command, cfg: () => Config, env: Record<string, string | undefined>): void {
  program
    .command('mcp')
    .description('an MCP server on stdio for the code index of a running Kodah (search_code, get_file, list_repositories)')
    .option('--url <base>', 'base URL of the running Kodah (default: http://127.0.0.1:$PORT)')
    .option('--key <key>', 'API key, kdh_… (default: $KODAH_API_KEY)')
    .action(async (opts: { url?: string; key?: string }) => {
      // KODAH_API_KEY is a client's setting, not the server's: it is not part of Config.
      const apiKey = opts.key ?? env.KODAH_API_KEY;
      if (!apiKey) throw new ConfigError('kodah mcp needs an API key: pass --key kdh_… or set KODAH_API_KEY');
      const url = opts.url ?? `http://127.0.0.1:${cfg().port || 3000}`;
      if (!/^https?:\/\/[^/]/i.test(url)) throw new ConfigError(`--url: ${url} is not an http(s) URL such as http://127.0.0.1:3000`);
      // stdout carries the protocol: logs go to stderr.
      // The MCP SDK is loaded by this command only (see serve.ts).
      const { serveMcpOverStdio } = await import('../mcp/serve-stdio.js');
      await serveMcpOverStdio({ url, apiKey, log: createLogger(cfg().logLevel, process.stderr) });
    });
}

import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import type { CodeSearch } from '../../code-index/code-search.js';
import type { Database } from '../../db/database.js';
import { localBackend } from '../../mcp/local-backend.js';
import { requireApiKey } from '../auth.js';

export const mcpRoutes: FastifyPluginAsync<{ db: Database; search: CodeSearch }> = async (app, { db, search }) => {
  app.addHook('onRequest', requireApiKey(db));

  app.post(
    '/mcp',
    { schema: { summary: 'MCP (streamable HTTP, stateless): tools search_code, get_file, list_repositories' } },
    async (request, reply) => {
      // The MCP SDK loads with the first MCP request, not at every start (a quarter second of CPU).
      const [{ StreamableHTTPServerTransport }, { createCodeIndexServer }] = await Promise.all([
        import('@modelcontextprotocol/sdk/server/streamableHttp.js'),
        import('../../mcp/code-index-tools.js'),
      ]);
      const server = createCodeIndexServer(localBackend(db, search, request.accountId), request.log);
      const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
      // The transport writes the response itself; Fastify must not touch it.
      reply.hijack();
      reply.raw.on('close', () => {
        void transport.close();
        void server.close();
      });
      try {
        await server.connect(transport);
        await transport.handleRequest(request.raw, reply.raw, request.body);
      } catch (err) {
        request.log.error({ err }, 'MCP request failed');
        if (!reply.raw.headersSent) {
          reply.raw
            .writeHead(500, { 'content-type': 'application/json' })
            .end(JSON.stringify({ jsonrpc: '2.0', error: { code: -32603, message: 'Internal server error' }, id: null }));
        }
      }
    },
  );

  // Without sessions there is no stream to resume (GET) and none to end (DELETE).
  const notAllowed = async (_request: unknown, reply: FastifyReply) =>
    reply
      .status(405)
      .header('allow', 'POST')
      .send({ detail: 'Method not allowed: this MCP endpoint is stateless; send JSON-RPC with POST' });
  app.get('/mcp', { schema: { hide: true } }, notAllowed);
  app.delete('/mcp', { schema: { hide: true } }, notAllowed);
};

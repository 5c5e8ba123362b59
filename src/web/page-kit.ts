import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Database } from '../db/database.js';

/** A signed-in browser: its session (whose id the CSRF token is made from) and account. */
export interface PageSession {
  id: string;
  accountId: string;
}

/**
 * What the pages' own routes share, made once in web-routes.ts: so a page registered in a file of
 * its own checks sessions, origins and CSRF tokens exactly as the dashboard does.
 */
export interface PageKit {
  db: Database;
  /** Sends server-rendered HTML. */
  page(reply: FastifyReply, body: string): FastifyReply;
  /** The signed-in session of a page request, or null (signing in off, no or expired session). */
  pageSession(request: FastifyRequest): Promise<PageSession | null>;
  /** A form post's session; throws (403) for another site's post, no session, or a wrong CSRF token. */
  postedSession(request: FastifyRequest): Promise<PageSession>;
  /** The session's CSRF token, for the forms of a page. */
  csrf(sessionId: string): string;
}

/** Route options that keep the pages out of the API's OpenAPI document. */
export const HIDDEN = { schema: { hide: true } } as const;

import { z } from 'zod';

/** The body of every error response. */
export const errorSchema = z.object({ detail: z.string() });

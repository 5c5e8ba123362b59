import { pino, type Logger } from 'pino';

export type { Logger };

/** The process's root logger; requests and jobs take child loggers from it. */
export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  return pino(
    {
      level,
      base: { service: 'kodah' },
      // Keys and tokens must never reach a log line, whatever object a caller logs.
      redact: {
        paths: ['req.headers["x-api-key"]', 'req.headers.authorization', '*.apiKey', '*.token', '*.password'],
        censor: '[redacted]',
      },
    },
    destination ?? process.stdout,
  );
}

import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Config } from '../config.js';
import type { Logger } from '../lib/logger.js';

/**
 * The key that encrypts stored GitHub tokens and signs sign-in states: KODAH_SECRET_KEY, else one
 * generated once into the data folder (mode 0600) and read from there on every later start.
 */
export async function loadSecretKey(config: Pick<Config, 'secretKey' | 'dataDir' | 'databaseUrl'>, log: Logger): Promise<Buffer> {
  if (config.secretKey) return config.secretKey;
  const file = path.join(config.dataDir, 'secret.key');
  if (config.databaseUrl) {
    // Every machine on one database must hold the same key, or tokens one stored another cannot read.
    log.warn(
      { file },
      'KODAH_SECRET_KEY is not set: using a key kept in the data folder; with several machines on one database set KODAH_SECRET_KEY (openssl rand -base64 32) on every one',
    );
  }
  try {
    return decode(await readFile(file, 'utf8'), file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  await mkdir(config.dataDir, { recursive: true });
  const key = randomBytes(32);
  try {
    // 'wx': two processes starting at once must not each write their own key.
    await writeFile(file, `${key.toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
    log.info({ file }, 'generated the secret key that encrypts stored GitHub tokens: back it up with the database');
    return key;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    return decode(await readFile(file, 'utf8'), file);
  }
}

function decode(text: string, file: string): Buffer {
  const key = Buffer.from(text.trim(), 'base64');
  if (key.length !== 32)
    throw new Error(`${file} does not hold 32 bytes in base64: delete it to make a new one (stored GitHub tokens are then lost)`);
  return key;
}

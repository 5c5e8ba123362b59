import { deserialize, serialize } from 'node:v8';

/**
 * The frames of the operator socket (see serve-database.ts): a 4-byte big-endian length, then a
 * value in V8's structured-clone format, which keeps what rows hold and JSON would lose (Date,
 * Uint8Array, bigint, undefined) without a tagging scheme that a stored JSON value could imitate.
 */
const MAX_FRAME_BYTES = 256 * 1024 * 1024;

/** One value as a frame. */
export function encodeFrame(value: unknown): Buffer {
  const body = serialize(value);
  const head = Buffer.alloc(4);
  head.writeUInt32BE(body.length);
  return Buffer.concat([head, body]);
}

/**
 * Collects a stream's chunks and hands each complete frame's value to onFrame. A frame over the
 * limit, or one that does not decode, is a broken peer: onError is called and nothing more is read.
 */
export function frameReader(onFrame: (value: unknown) => void, onError: (err: Error) => void): (chunk: Buffer) => void {
  let buffered: Buffer = Buffer.alloc(0);
  let broken = false;
  return (chunk) => {
    if (broken) return;
    buffered = buffered.length ? Buffer.concat([buffered, chunk]) : chunk;
    while (buffered.length >= 4) {
      const length = buffered.readUInt32BE(0);
      if (length > MAX_FRAME_BYTES) {
        broken = true;
        onError(new Error(`frame of ${length} bytes is over the limit of ${MAX_FRAME_BYTES}`));
        return;
      }
      if (buffered.length < 4 + length) return;
      const body = buffered.subarray(4, 4 + length);
      buffered = buffered.subarray(4 + length);
      let value: unknown;
      try {
        value = deserialize(body);
      } catch (err) {
        broken = true;
        onError(new Error('frame does not decode', { cause: err }));
        return;
      }
      onFrame(value);
    }
  };
}

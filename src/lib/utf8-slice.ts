/** The head of a text in at most `maxBytes` UTF-8 bytes, never ending inside a character. */
export function firstBytes(text: string, maxBytes: number): string {
  if (Buffer.byteLength(text) <= maxBytes) return text;
  // encodeInto writes whole characters only and says how much of the string that was.
  const { read } = new TextEncoder().encodeInto(text, new Uint8Array(Math.max(0, maxBytes)));
  return text.slice(0, read);
}

/** The tail of a text in at most `maxBytes` UTF-8 bytes, never starting inside a character. */
export function lastBytes(text: string, maxBytes: number): string {
  let used = 0;
  let i = text.length;
  while (i > 0) {
    const code = text.charCodeAt(i - 1);
    const pair = code >= 0xdc00 && code <= 0xdfff && i >= 2 && (text.charCodeAt(i - 2) & 0xfc00) === 0xd800;
    const size = pair ? 4 : code < 0x80 ? 1 : code < 0x800 ? 2 : 3;
    if (used + size > maxBytes) break;
    used += size;
    i -= pair ? 2 : 1;
  }
  return text.slice(i);
}

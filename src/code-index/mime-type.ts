import path from 'node:path';

const TYPES: Record<string, string> = {
  py: 'text/x-python',
  pyi: 'text/x-python',
  js: 'text/javascript',
  mjs: 'text/javascript',
  cjs: 'text/javascript',
  jsx: 'text/javascript',
  ts: 'text/x-typescript',
  tsx: 'text/x-typescript',
  go: 'text/x-go',
  java: 'text/x-java',
  rs: 'text/x-rust',
  c: 'text/x-c',
  h: 'text/x-c',
  cc: 'text/x-c++',
  cpp: 'text/x-c++',
  hpp: 'text/x-c++',
  rb: 'text/x-ruby',
  php: 'text/x-php',
  cs: 'text/x-csharp',
  sh: 'text/x-shellscript',
  md: 'text/markdown',
  rst: 'text/x-rst',
  txt: 'text/plain',
  html: 'text/html',
  css: 'text/css',
  json: 'application/json',
  yml: 'application/yaml',
  yaml: 'application/yaml',
  toml: 'application/toml',
  xml: 'application/xml',
  svg: 'image/svg+xml',
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  gif: 'image/gif',
  pdf: 'application/pdf',
  zip: 'application/zip',
  gz: 'application/gzip',
  wasm: 'application/wasm',
  ico: 'image/x-icon',
};

/** The extension of a path without its dot ("" when it has none). */
export function extensionOf(filePath: string): string {
  return path.extname(filePath).slice(1).toLowerCase();
}

/** A file's MIME type: by extension, else by whether its content is binary. */
export function mimeTypeOf(filePath: string, binary: boolean): string {
  return TYPES[extensionOf(filePath)] ?? (binary ? 'application/octet-stream' : 'text/plain');
}

/** Git's own rule: a NUL byte in the first 8000 bytes makes a file binary. */
export function isBinary(content: Buffer): boolean {
  return content.subarray(0, 8000).includes(0);
}

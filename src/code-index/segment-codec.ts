import { SearchSegment, segmentFile, type TermIndex } from './search-segment.js';

/**
 * The stored form of a search segment, one blob: "KSEG", the format version (u32), the length
 * of a JSON header (u32), the header (files, languages, terms, counts), then the typed arrays
 * one after another, each starting at a multiple of 8, little-endian. Loading copies each array
 * out of the blob: no parsing per posting, which is what makes a cold search fast.
 */
export const SEGMENT_FORMAT_VERSION = 1;
const MAGIC = 0x4745534b; // "KSEG" read as a little-endian u32

interface Header {
  docs: number;
  /** path, blob, authors, first and last date (ms or null), per file. */
  files: Array<[string, string, string[], number | null, number | null]>;
  languages: string[];
  codeTerms: string[];
  codePostings: number;
  summaryTerms: string[];
  summaryPostings: number;
}

type Typed = Float64Array | Int32Array | Uint16Array;

const align = (n: number) => Math.ceil(n / 8) * 8;

/** Typed arrays are written in the machine's byte order; the format says little-endian, so refuse a big-endian host. */
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

export function encodeSegment(segment: SearchSegment): Buffer {
  if (!LITTLE_ENDIAN) throw new Error('The stored search segment format is little-endian');
  const languages = [...new Set(segment.languages)];
  const languageOf = new Uint16Array(segment.size);
  const position = new Map(languages.map((l, i) => [l, i]));
  segment.languages.forEach((l, doc) => (languageOf[doc] = position.get(l)!));
  const header: Header = {
    docs: segment.size,
    files: segment.files.map((f) => [f.path, f.blobSha, f.authors, f.firstDate, f.lastDate]),
    languages,
    codeTerms: segment.code.terms,
    codePostings: segment.code.docs.length,
    summaryTerms: segment.summary.terms,
    summaryPostings: segment.summary.docs.length,
  };
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const arrays: Typed[] = [
    segment.snippetIds,
    segment.fileOf,
    languageOf,
    segment.lengths,
    segment.summaryLengths,
    ...indexArrays(segment.code),
    ...indexArrays(segment.summary),
  ];
  let size = align(12 + json.length);
  for (const a of arrays) size += align(a.byteLength);
  const out = Buffer.alloc(size);
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  view.setUint32(0, MAGIC, true);
  view.setUint32(4, SEGMENT_FORMAT_VERSION, true);
  view.setUint32(8, json.length, true);
  out.set(json, 12);
  let at = align(12 + json.length);
  for (const a of arrays) {
    out.set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength), at);
    at += align(a.byteLength);
  }
  return out;
}

/** The blob's format version, or null when it is not a stored segment at all. */
export function segmentFormatVersion(data: Uint8Array): number | null {
  if (data.byteLength < 12) return null;
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  return view.getUint32(0, true) === MAGIC ? view.getUint32(4, true) : null;
}

/** The segment a blob of the current version holds; throws when the blob is damaged. */
export function decodeSegment(repositoryId: string, commit: string, data: Uint8Array): SearchSegment {
  if (!LITTLE_ENDIAN) throw new Error('The stored search segment format is little-endian');
  if (segmentFormatVersion(data) !== SEGMENT_FORMAT_VERSION) throw new Error('Not a stored search segment of this format version');
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const jsonLength = view.getUint32(8, true);
  if (12 + jsonLength > data.byteLength) throw new Error('Stored search segment is truncated');
  const header = JSON.parse(Buffer.from(data.buffer, data.byteOffset + 12, jsonLength).toString('utf8')) as Header;
  let at = align(12 + jsonLength);
  // Copies into a fresh buffer: the blob's offset in its own buffer need not be aligned.
  const take = <T extends Typed>(Kind: { new (n: number): T; BYTES_PER_ELEMENT: number }, n: number): T => {
    const bytes = n * Kind.BYTES_PER_ELEMENT;
    if (at + bytes > data.byteLength) throw new Error('Stored search segment is truncated');
    const array = new Kind(n);
    new Uint8Array(array.buffer).set(data.subarray(at, at + bytes));
    at += align(bytes);
    return array;
  };
  const n = header.docs;
  const snippetIds = take(Float64Array, n);
  const fileOf = take(Int32Array, n);
  const languageOf = take(Uint16Array, n);
  const lengths = take(Int32Array, n);
  const summaryLengths = take(Int32Array, n);
  const index = (terms: string[], postings: number): TermIndex => ({
    terms,
    offsets: take(Int32Array, terms.length + 1),
    docs: take(Int32Array, postings),
    tfs: take(Uint16Array, postings),
  });
  const code = index(header.codeTerms, header.codePostings);
  const summary = index(header.summaryTerms, header.summaryPostings);
  return new SearchSegment(repositoryId, commit, {
    files: header.files.map(([path, blob, authors, first, last]) => segmentFile(path, blob, authors, first, last)),
    snippetIds,
    fileOf,
    languages: Array.from(languageOf, (i) => header.languages[i]!),
    lengths,
    code,
    summaryLengths,
    summary,
  });
}

function indexArrays(index: TermIndex): Typed[] {
  return [index.offsets, index.docs, index.tfs];
}

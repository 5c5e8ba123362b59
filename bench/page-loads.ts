/** Loading one page many times with a session, as bench/pages.ts and bench/operator-pages.ts do. */
export interface PageLoads {
  /** Time to first byte and to the whole body, ms, sorted. */
  ttfb: number[];
  total: number[];
  bytes: number;
}

export function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/** `loads` sequential loads of `url` with the session `cookie`, after five that warm the server up (JIT, caches). */
export async function measurePageLoads(url: string, cookie: string, loads: number): Promise<PageLoads> {
  const ttfb: number[] = [];
  const total: number[] = [];
  let bytes = 0;
  for (let i = 0; i < loads + 5; i++) {
    const start = performance.now();
    const res = await fetch(url, { headers: { cookie } });
    const first = performance.now();
    const text = await res.text();
    const end = performance.now();
    if (res.status !== 200) throw new Error(`${url}: ${res.status}`);
    if (i < 5) continue;
    ttfb.push(first - start);
    total.push(end - start);
    bytes = text.length;
  }
  return { ttfb: ttfb.sort((a, b) => a - b), total: total.sort((a, b) => a - b), bytes };
}

/** One table row: size, TTFB p50/p95, whole page p50/p95. */
export function pageRow(name: string, m: PageLoads): string {
  const f = (x: number) => x.toFixed(1).padStart(6);
  return (
    `${name.padEnd(30)}| ${(m.bytes / 1024).toFixed(0).padStart(5)} | ${f(percentile(m.ttfb, 50))} | ${f(percentile(m.ttfb, 95))} | ` +
    `${f(percentile(m.total, 50))} | ${f(percentile(m.total, 95))}`
  );
}

/**
 * The load generator of bench/api.ts, in a process of its own so that it does not share the
 * server's event loop. Argument: JSON { url, keys, body, seconds, rate? }.
 * Without `rate`, each key is one client sending back to back (closed loop: maximum throughput).
 * With `rate` (requests/s over all clients), sends are scheduled at fixed times and latency counts
 * from the scheduled time, so a slow answer cannot hide the queue behind it (open loop).
 */
const { url, keys, body, seconds, rate } = JSON.parse(process.argv[2]!) as {
  url: string;
  keys: string[];
  body: unknown;
  seconds: number;
  rate?: number;
};
const payload = JSON.stringify(body);
const latencies: number[] = [];
const statuses: Record<number, number> = {};

async function post(key: string, from: number): Promise<void> {
  const res = await fetch(`${url}/jobs`, {
    method: 'POST',
    headers: { 'x-api-key': key, 'content-type': 'application/json' },
    body: payload,
  });
  await res.text();
  statuses[res.status] = (statuses[res.status] ?? 0) + 1;
  if (res.status === 202) latencies.push(performance.now() - from);
}

const start = performance.now();
const end = start + seconds * 1000;
if (rate) {
  const perClient = rate / keys.length;
  await Promise.all(
    keys.map(async (key, i) => {
      // Clients start evenly spread over one interval, then keep their own schedule.
      let next = start + (i / keys.length) * (1000 / perClient);
      while (next < end) {
        const wait = next - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        await post(key, next);
        next += 1000 / perClient;
      }
    }),
  );
} else {
  await Promise.all(
    keys.map(async (key) => {
      while (performance.now() < end) await post(key, performance.now());
    }),
  );
}
const wall = (performance.now() - start) / 1000;
process.stdout.write(JSON.stringify({ wall, latencies, statuses }));

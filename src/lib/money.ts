/**
 * Money is integer cents everywhere inside Kodah; these are the only conversions to and from the
 * decimal strings people type and the dollar numbers the API shows.
 */
const USD = /^(\d{1,7})(?:\.(\d{1,2}))?$/;
/** The largest amount one operation takes: balances are 32-bit cents in the database. */
const MAX_USD_CENTS = 1_000_000_00;

/** "10", "10.5" or "10.05" to cents; anything else (negative, three decimals, 1e3, over $1M) is refused. */
export function parseUsd(text: string): number {
  const match = USD.exec(text.trim());
  if (!match) throw new Error(`"${text}" is not an amount in US dollars like 10.00`);
  const cents = Number(match[1]) * 100 + Number((match[2] ?? '').padEnd(2, '0'));
  if (cents > MAX_USD_CENTS) throw new Error(`"${text}" is more than $1,000,000.00 at once`);
  return cents;
}

/** Cents as a JSON-friendly dollar number (1050 → 10.5); exact, since cents/100 has two decimals. */
export function centsToUsd(cents: number): number {
  return Number((cents / 100).toFixed(2));
}

/** Cents as "$10.50" for people. */
export function formatUsd(cents: number): string {
  const sign = cents < 0 ? '-' : '';
  const abs = Math.abs(cents);
  return `${sign}$${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, '0')}`;
}

/** The source of "now" for rules that depend on the calendar (the monthly free credits). */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

/** The UTC calendar month a moment falls in, as `YYYY-MM`: the period of free credits. */
export function monthOf(date: Date): string {
  return date.toISOString().slice(0, 7);
}

/** The first instant of the month after `date`'s, in UTC: when free credits reset. */
export function nextMonthStart(date: Date): Date {
  return new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + 1, 1));
}

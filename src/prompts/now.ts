/**
 * The fixed "now" of a trajectory (prompt set v2). The texts' rules are windows (24 hours,
 * 14 days from delivery, a one-month deadline); without a current date the teacher invents
 * timestamps and the judge cannot check a deadline. Each trajectory gets one date and time,
 * drawn from config `now` and seeded by the trajectory id, so a rerun asks the same question
 * (same cache key) and another trajectory gets another day of the week. It is stated in the
 * generator's prompt and in the conversation's system prompt, carried into refinement and the
 * judge, and recorded as `meta.now`.
 */
import { createHash } from 'node:crypto';

/** A date (`2025-03-14`), a date and time (`2025-03-14T10:30`), or a range of dates (`2025-01-01..2025-12-31`). */
export const NOW_PATTERN = /^\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}|\.\.\d{4}-\d{2}-\d{2})?$/;

/** Default of config `now`: any day of two years. */
export const DEFAULT_NOW = '2025-01-01..2026-12-31';

const DAY_MS = 86_400_000;
/** Drawn times fall in a working day, 08:00–19:59: when people deal with these systems. */
const FIRST_MINUTE = 8 * 60;
const MINUTES = 12 * 60;

const WEEKDAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'] as const;
const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'] as const;

function day(text: string): number {
  const ms = Date.parse(`${text}T00:00:00Z`);
  if (!Number.isFinite(ms) || new Date(ms).toISOString().slice(0, 10) !== text) throw new RangeError(`"${text}" is not a calendar date (YYYY-MM-DD)`);
  return ms;
}

/** Checks a `now` setting; throws a RangeError saying what is wrong. */
export function checkNowSetting(spec: string): void {
  if (!NOW_PATTERN.test(spec)) throw new RangeError(`now must be YYYY-MM-DD, YYYY-MM-DDTHH:MM or YYYY-MM-DD..YYYY-MM-DD, got "${spec}"`);
  const [from, to] = spec.split('..') as [string, string | undefined];
  const start = day(from.slice(0, 10));
  if (from.length > 10) {
    const [h, m] = from.slice(11).split(':').map(Number) as [number, number];
    if (h > 23 || m > 59) throw new RangeError(`"${from}" has no such time of day`);
  }
  if (to !== undefined && day(to) < start) throw new RangeError(`now range "${spec}" ends before it starts`);
}

/** The current date and time of trajectory `id`: an ISO local time (`2025-03-14T10:37`). */
export function trajectoryNow(id: string, spec: string = DEFAULT_NOW): string {
  checkNowSetting(spec);
  if (spec.length === 16) return spec; // date and time fixed
  const digest = createHash('sha256').update(`${spec}\n${id}`).digest();
  const [from, to] = spec.split('..') as [string, string | undefined];
  const start = day(from);
  const days = to === undefined ? 1 : (day(to) - start) / DAY_MS + 1;
  const offset = digest.readUInt32BE(0) % days;
  const minute = FIRST_MINUTE + (digest.readUInt32BE(4) % MINUTES);
  return new Date(start + offset * DAY_MS + minute * 60_000).toISOString().slice(0, 16);
}

/** `value` when it is a trajectory's now as recorded in `meta.now` (`2025-03-14T10:37`), else undefined. */
export function asNow(value: unknown): string | undefined {
  return typeof value === 'string' && /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}$/.test(value) && Number.isFinite(Date.parse(`${value}:00Z`)) ? value : undefined;
}

/** `2025-03-14T10:37` → `Friday, 14 March 2025, 10:37`. */
export function describeNow(iso: string): string {
  const d = new Date(`${iso}:00Z`);
  return `${WEEKDAYS[d.getUTCDay()]}, ${d.getUTCDate()} ${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()}, ${iso.slice(11, 16)}`;
}

/** The line the conversation's system prompt carries (asked of the teacher, added in code when missing). */
export function nowLine(iso: string): string {
  return `Current date and time: ${describeNow(iso)} (${iso.replace('T', ' ')}).`;
}

/** Whether a system prompt already states the date of `iso` (in ISO or in words). */
export function statesNow(systemPrompt: string, iso: string): boolean {
  const d = new Date(`${iso}:00Z`);
  const words = `${d.getUTCDate()} ${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()}`;
  const us = `${MONTHS[d.getUTCMonth()]} ${d.getUTCDate()}, ${d.getUTCFullYear()}`;
  return systemPrompt.includes(iso.slice(0, 10)) || systemPrompt.includes(words) || systemPrompt.includes(us);
}

/**
 * The time instructions for a teacher writing or rewriting a conversation set at `iso`:
 * state it, keep every timestamp consistent with it, and let the user come back later.
 */
export function timeRules(iso: string): string {
  return `Time: the conversation takes place on ${describeNow(iso)}. This is "now" for everyone in it.
- The system prompt you write states it on its own line, exactly: "${nowLine(iso)}"
- Every date and timestamp in tool results is consistent with it: past events (orders placed, flights booked, keys created, deliveries made) carry dates before now, future ones (departures, renewals, deadlines) after it, and a record's own dates agree with each other. Choose the dates so that the rules with windows and deadlines (24 hours, 14 days from delivery, one month) actually come into play: an item just inside or just outside its window is a good test.
- The assistant reasons about windows and deadlines from this date and the dates the tools return, and resolves relative dates ("tomorrow", "last Friday") from it; it never takes a date from anywhere else.
- When the workflow spans days (waiting for a parcel, a refund to post, a 24-hour cooling-off period, a key to propagate), the user may come back later in the same conversation. Their message says how much time has passed ("It's Thursday now, the courier came yesterday"), and from then on tool results carry timestamps that have moved forward by that much. Time never moves backwards, and nothing changes between turns without a reason.`;
}

import { invalidField } from '../../../core/http/errors.js';
import { hoursFromSeconds, lineAmountCents } from '../money.js';

/** Timer rules: whole-second durations, the summary's periods, and an entry's billed amount. */

/**
 * The longest an entry may last, the same cap as an explicit `duration` (about 115 days): a time
 * tracker's entry is a stretch of work, and on PostgreSQL the column is a 4-byte integer.
 */
export const MAX_ENTRY_SECONDS = 10_000_000;

/** Entry times lie in [1970-01-01, 2100-01-01) UTC: four-digit years, so the stored text sorts as time. */
export const EARLIEST_TIME = '1970-01-01T00:00:00.000Z';
export const LATEST_TIME = '2099-12-31T23:59:59.999Z';
const EARLIEST_MS = Date.parse(EARLIEST_TIME);
const LATEST_MS = Date.parse(LATEST_TIME);
const RANGE_MESSAGE = 'must be between 1970-01-01T00:00:00Z and 2099-12-31T23:59:59Z';

/** An instant (milliseconds) as the UTC `...Z` text the database compares; 400 naming `field` when out of range. */
function timeAt(milliseconds: number, field: string): string {
  if (!(milliseconds >= EARLIEST_MS && milliseconds <= LATEST_MS)) throw invalidField(field, RANGE_MESSAGE);
  return new Date(milliseconds).toISOString();
}

/** Any ISO 8601 date-time the client sent, as the UTC `...Z` text the database compares; 400 outside the range. */
export const normaliseTime = (value: string, field: string): string => timeAt(Date.parse(value), field);

/**
 * Whole seconds from start to end (rounded down). 400 naming `field` (the one the client sent) when
 * the end is before the start, or the entry would last longer than MAX_ENTRY_SECONDS.
 */
export function durationSeconds(startTime: string, endTime: string, field: 'start_time' | 'end_time' = 'end_time'): number {
  const milliseconds = Date.parse(endTime) - Date.parse(startTime);
  if (!(milliseconds >= 0)) throw invalidField(field, field === 'end_time' ? 'must not be before start_time' : 'must not be after end_time');
  const seconds = Math.floor(milliseconds / 1000);
  if (seconds > MAX_ENTRY_SECONDS) {
    throw invalidField(field, `must be at most ${MAX_ENTRY_SECONDS} seconds (about 115 days) ${field === 'end_time' ? 'after start_time' : 'before end_time'}`);
  }
  return seconds;
}

/**
 * The duration of a running timer stopped at `endTime`. Without an end_time from the client (stop
 * now), a timer that has run longer than an entry may last gets a 400 saying how to get out of it:
 * stop it with an end_time, or delete it.
 */
export function stoppedDuration(startTime: string, endTime: string, endTimeSent: boolean): number {
  if (endTimeSent || Date.parse(endTime) - Date.parse(startTime) <= MAX_ENTRY_SECONDS * 1000) return durationSeconds(startTime, endTime);
  throw invalidField(
    'end_time',
    `is required: this timer has run longer than an entry may last (${MAX_ENTRY_SECONDS} seconds, about 115 days)`,
    `This timer started at ${startTime} and has run longer than an entry may last (${MAX_ENTRY_SECONDS} seconds, about 115 days): stop it with an end_time at most that long after its start_time, correct its start_time, or delete it`,
  );
}

/** The end of an entry that lasted `seconds` from `startTime`; 400 naming `field` when out of range. */
export const endAfter = (startTime: string, seconds: number, field = 'duration'): string => timeAt(Date.parse(startTime) + seconds * 1000, field);

export interface PeriodStarts {
  today: string;
  week: string;
  month: string;
}

/** Start of today, of this ISO week (Monday) and of this month, in UTC, as ISO text. */
export function periodStarts(at: Date): PeriodStarts {
  const day = Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), at.getUTCDate());
  const daysSinceMonday = (at.getUTCDay() + 6) % 7;
  return {
    today: new Date(day).toISOString(),
    week: new Date(day - daysSinceMonday * 86_400_000).toISOString(),
    month: new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), 1)).toISOString(),
  };
}

/** Where each of those periods ends (exclusive): tomorrow, next Monday and the 1st of next month, 00:00 UTC. */
export function periodEnds(at: Date): PeriodStarts {
  const starts = periodStarts(at);
  return {
    today: new Date(Date.parse(starts.today) + 86_400_000).toISOString(),
    week: new Date(Date.parse(starts.week) + 7 * 86_400_000).toISOString(),
    month: new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth() + 1, 1)).toISOString(),
  };
}

/** What a finished entry bills: hours to two decimals times its rate, in cents (as on the invoice). */
export const entryAmountCents = (seconds: number, rateCents: number | null): number => lineAmountCents(hoursFromSeconds(seconds), rateCents ?? 0);

/**
 * The start and end of a new entry from what the client sent: a start alone (or nothing) starts a
 * timer; an end, or a duration in seconds, records a finished entry. A duration without a start
 * means "just now": the entry ends now (or at the given end) and starts that many seconds before.
 */
export function resolveNewEntryTimes(
  body: { start_time?: string; end_time?: string | null; duration?: number },
  at: Date = new Date(),
): { start_time: string; end_time: string | null } {
  const end = body.end_time ? normaliseTime(body.end_time, 'end_time') : null;
  if (body.start_time) {
    const start = normaliseTime(body.start_time, 'start_time');
    return { start_time: start, end_time: end ?? (body.duration !== undefined ? endAfter(start, body.duration) : null) };
  }
  if (body.duration !== undefined) {
    const finish = end ?? at.toISOString();
    return { start_time: endAfter(finish, -body.duration), end_time: finish };
  }
  return { start_time: at.toISOString(), end_time: end };
}

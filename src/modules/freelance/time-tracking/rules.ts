import { AppError } from '../../../core/http/errors.js';
import { hoursFromSeconds, lineAmountCents } from '../money.js';

/** Timer rules: whole-second durations, the summary's periods, and an entry's billed amount. */

/** Any ISO 8601 date-time the client sent, as the UTC `...Z` text the database compares. */
export const normaliseTime = (value: string): string => new Date(value).toISOString();

/** Whole seconds from start to end (rounded down); 400 when the end is before the start. */
export function durationSeconds(startTime: string, endTime: string, field = 'end_time'): number {
  const milliseconds = Date.parse(endTime) - Date.parse(startTime);
  if (!(milliseconds >= 0)) {
    throw new AppError(400, 'VALIDATION_FAILED', `Invalid body: ${field} must not be before start_time`, [{ field, message: 'must not be before start_time' }]);
  }
  return Math.floor(milliseconds / 1000);
}

/** The end of an entry that lasted `seconds` from `startTime`. */
export const endAfter = (startTime: string, seconds: number): string => new Date(Date.parse(startTime) + seconds * 1000).toISOString();

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
  const end = body.end_time ? normaliseTime(body.end_time) : null;
  if (body.start_time) {
    const start = normaliseTime(body.start_time);
    return { start_time: start, end_time: end ?? (body.duration !== undefined ? endAfter(start, body.duration) : null) };
  }
  if (body.duration !== undefined) {
    const finish = end ?? at.toISOString();
    return { start_time: endAfter(finish, -body.duration), end_time: finish };
  }
  return { start_time: at.toISOString(), end_time: end };
}

import { badRequest } from '../../../core/http/errors.js';

/**
 * Tag names as the board keeps them: trimmed, and each name once whatever its case (the first
 * spelling wins). Blank names never get here: the body schema (`RequiredText`) refuses them.
 */
export function normaliseTagNames(names: string[]): string[] {
  const seen = new Set<string>();
  const result: string[] = [];
  for (const raw of names) {
    const name = raw.trim();
    const key = name.toLowerCase();
    if (seen.has(key)) continue;
    seen.add(key);
    result.push(name);
  }
  return result;
}

/** A date stays a date; a date-time is stored as ISO 8601 UTC so stored values compare as text. */
export function normaliseEventDate(value: string | null | undefined): string | null | undefined {
  if (value === undefined || value === null) return value;
  if (/^\d{4}-\d{2}-\d{2}$/.test(value)) return value;
  return new Date(value).toISOString();
}

/** The end of an event cannot come before its start (when both are known). */
export function checkEventDates(start: string | null, end: string | null): void {
  if (start === null || end === null) return;
  if (Date.parse(end) < Date.parse(start)) {
    throw badRequest('event_end_date cannot be before event_date', 'VALIDATION_FAILED', [{ field: 'event_end_date', message: 'must not be before event_date' }]);
  }
}

/** `entity_type` is the documented name; `type` is accepted too, and both must agree. */
export function entityTypeOf<T extends string>(body: { entity_type?: T; type?: T }): T | undefined {
  if (body.entity_type !== undefined && body.type !== undefined && body.entity_type !== body.type) {
    throw badRequest('entity_type and type disagree', 'VALIDATION_FAILED', [{ field: 'type', message: 'must equal entity_type when both are given' }]);
  }
  return body.entity_type ?? body.type;
}

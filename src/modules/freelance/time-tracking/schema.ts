import { Type, type Static } from 'typebox';
import { DateOnly, RequiredText, Timestamp, Uuid } from '../../../core/http/schemas.js';
import { Currency, ListPaging, MoneyInput, MoneyOutput, Optional, OptionalText, OrNull, OwnedFields } from '../common.js';

export const TimeEntry = Type.Object({
  ...OwnedFields,
  description: Type.String(),
  project_id: OrNull(Uuid),
  client_id: OrNull(Uuid),
  start_time: Timestamp,
  end_time: OrNull(Timestamp),
  duration: OrNull(Type.Integer({ description: 'Whole seconds; null while running' })),
  hourly_rate: OrNull(MoneyOutput),
  is_billable: Type.Boolean(),
  invoice_id: OrNull(Uuid),
});
export type TimeEntry = Static<typeof TimeEntry>;

/** At most about 115 days in one entry. */
const Duration = Type.Integer({ minimum: 0, maximum: 10_000_000, description: 'Whole seconds' });

export const CreateTimeEntryBody = Type.Object(
  {
    description: RequiredText(1000),
    project_id: Optional(Uuid),
    client_id: Optional(Uuid),
    start_time: Type.Optional(Timestamp),
    end_time: Optional(Timestamp),
    duration: Type.Optional(Duration),
    hourly_rate: Optional(MoneyInput),
    is_billable: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
export type CreateTimeEntryBody = Static<typeof CreateTimeEntryBody>;

export const UpdateTimeEntryBody = Type.Object(
  {
    description: Type.Optional(RequiredText(1000)),
    project_id: Optional(Uuid),
    client_id: Optional(Uuid),
    start_time: Type.Optional(Timestamp),
    end_time: Type.Optional(Timestamp),
    duration: Type.Optional(Duration),
    hourly_rate: Optional(MoneyInput),
    is_billable: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
export type UpdateTimeEntryBody = Static<typeof UpdateTimeEntryBody>;

export const StopBody = Type.Object({ end_time: Type.Optional(Timestamp) }, { additionalProperties: false });

/**
 * Core's `date` and `date-time` formats check the calendar (no 2024-13-45, no 2026-02-30) and that
 * `Date` can hold the value (no leap second), so the repo's `new Date(value)` never meets a bad one.
 */
const DateOrTime = Type.Union([DateOnly, Timestamp], { description: 'YYYY-MM-DD (the whole UTC day) or an RFC 3339 date-time' });

export const TimeEntryListQuery = Type.Object({
  project_id: Type.Optional(Uuid),
  client_id: Type.Optional(Uuid),
  from: Type.Optional(DateOrTime),
  to: Type.Optional(DateOrTime),
  billable: Type.Optional(Type.Boolean()),
  ...ListPaging,
});
export type TimeEntryListQuery = Static<typeof TimeEntryListQuery>;

export const TimeSummary = Type.Object({
  today_seconds: Type.Integer(),
  week_seconds: Type.Integer({ description: 'Since Monday 00:00 UTC' }),
  month_seconds: Type.Integer(),
  billable_seconds: Type.Integer({ description: 'All finished billable time' }),
  unbilled_amount: Type.Number({ description: 'What the finished, billable, not yet invoiced entries would bill' }),
});

export const InvoiceFromTimeBody = Type.Object(
  {
    entry_ids: Type.Array(Uuid, { minItems: 1, maxItems: 500, uniqueItems: true }),
    client_id: Uuid,
    due_date: DateOnly,
    tax: Type.Optional(MoneyInput),
    notes: OptionalText(10_000),
    currency: Type.Optional(Currency),
    payment_terms: OptionalText(1000),
  },
  { additionalProperties: false },
);
export type InvoiceFromTimeBody = Static<typeof InvoiceFromTimeBody>;

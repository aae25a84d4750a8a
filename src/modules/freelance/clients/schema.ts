import { Type, type Static } from 'typebox';
import { Nullable, RequiredText } from '../../../core/http/schemas.js';
import { EmailOrEmpty, ListPaging, OptionalText, OrNull, OwnedFields } from '../common.js';

export const Client = Type.Object({
  ...OwnedFields,
  name: Type.String(),
  email: OrNull(Type.String()),
  phone: OrNull(Type.String()),
  company: OrNull(Type.String()),
  address: OrNull(Type.String()),
  notes: OrNull(Type.String()),
});
export type Client = Static<typeof Client>;

const clientFields = {
  email: Type.Optional(Nullable(EmailOrEmpty)),
  phone: OptionalText(50),
  company: OptionalText(200),
  address: OptionalText(1000),
  notes: OptionalText(10_000),
};

export const CreateClientBody = Type.Object({ name: RequiredText(200), ...clientFields }, { additionalProperties: false });
export type CreateClientBody = Static<typeof CreateClientBody>;

export const UpdateClientBody = Type.Object({ name: Type.Optional(RequiredText(200)), ...clientFields }, { additionalProperties: false });
export type UpdateClientBody = Static<typeof UpdateClientBody>;

export const ClientListQuery = Type.Object({
  search: Type.Optional(Type.String({ maxLength: 100, description: 'Matches name, company or email, ignoring case' })),
  ...ListPaging,
});

export const ClientStats = Type.Object({
  invoice_count: Type.Integer(),
  total_invoiced: Type.Number({ description: 'Totals of sent, overdue and paid invoices' }),
  total_paid: Type.Number(),
  total_outstanding: Type.Number({ description: 'Totals of sent and overdue invoices' }),
  tracked_seconds: Type.Integer({ description: 'Finished time entries for this client' }),
  billable_seconds: Type.Integer(),
});

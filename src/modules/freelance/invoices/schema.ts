import { Type, type Static } from 'typebox';
import { DateOnly, Nullable, RequiredText, Timestamp, Uuid } from '../../../core/http/schemas.js';
import { Currency, ListPaging, MoneyInput, MoneyOutput, OptionalText, OrNull, OwnedFields } from '../common.js';
import { INVOICE_STATUSES } from './rules.js';

export const InvoiceStatus = Type.Enum(INVOICE_STATUSES);

export const InvoiceItem = Type.Object({
  description: Type.String(),
  quantity: Type.Number(),
  rate: MoneyOutput,
  amount: MoneyOutput,
});

export const Invoice = Type.Object({
  ...OwnedFields,
  invoice_number: Type.String(),
  client_id: Uuid,
  client_name: OrNull(Type.String()),
  date: DateOnly,
  due_date: DateOnly,
  items: Type.Array(InvoiceItem),
  subtotal: MoneyOutput,
  tax: MoneyOutput,
  discount: MoneyOutput,
  total: MoneyOutput,
  currency: Type.String(),
  status: InvoiceStatus,
  notes: OrNull(Type.String()),
  payment_terms: OrNull(Type.String()),
  paid_at: OrNull(Timestamp),
});
export type Invoice = Static<typeof Invoice>;

export const InvoiceClient = Type.Object({
  id: Uuid,
  _id: Uuid,
  name: Type.String(),
  email: OrNull(Type.String()),
  phone: OrNull(Type.String()),
  company: OrNull(Type.String()),
  address: OrNull(Type.String()),
});

export const InvoiceWithClient = Type.Object({ ...Invoice.properties, client: Nullable(InvoiceClient) });
export type InvoiceWithClient = Static<typeof InvoiceWithClient>;

const ItemInput = Type.Object(
  {
    description: RequiredText(1000),
    quantity: Type.Number({ minimum: 0, maximum: 1_000_000, description: 'At most 4 decimals' }),
    rate: MoneyInput,
    amount: Type.Optional(Type.Number({ description: 'Ignored: the server computes quantity * rate' })),
  },
  { additionalProperties: false },
);

const Items = Type.Array(ItemInput, { maxItems: 200 });
const Computed = (what: string) => Type.Optional(Type.Number({ description: `Ignored: the server computes ${what}` }));

const editableFields = {
  date: Type.Optional(DateOnly),
  items: Type.Optional(Items),
  tax: Type.Optional(MoneyInput),
  discount: Type.Optional(MoneyInput),
  currency: Type.Optional(Currency),
  notes: OptionalText(10_000),
  payment_terms: OptionalText(1000),
  subtotal: Computed('subtotal'),
  total: Computed('total'),
};

export const CreateInvoiceBody = Type.Object(
  {
    client_id: Uuid,
    due_date: DateOnly,
    status: Type.Optional(Type.Enum(['draft'], { description: 'New invoices are drafts' })),
    ...editableFields,
  },
  { additionalProperties: false },
);
export type CreateInvoiceBody = Static<typeof CreateInvoiceBody>;

export const UpdateInvoiceBody = Type.Object(
  {
    client_id: Type.Optional(Uuid),
    due_date: Type.Optional(DateOnly),
    status: Type.Optional(InvoiceStatus),
    ...editableFields,
  },
  { additionalProperties: false },
);
export type UpdateInvoiceBody = Static<typeof UpdateInvoiceBody>;

export const StatusBody = Type.Object({ status: InvoiceStatus }, { additionalProperties: false });

export const InvoiceListQuery = Type.Object({
  status: Type.Optional(Type.Enum(INVOICE_STATUSES, { description: 'overdue includes sent invoices past their due date' })),
  client_id: Type.Optional(Uuid),
  ...ListPaging,
});
export type InvoiceListQuery = Static<typeof InvoiceListQuery>;

export const InvoiceSummary = Type.Object({
  total_invoices: Type.Integer(),
  draft_count: Type.Integer(),
  sent_count: Type.Integer({ description: 'Sent and not yet due' }),
  paid_count: Type.Integer(),
  overdue_count: Type.Integer({ description: 'Marked overdue, or sent and past due' }),
  total_paid: MoneyOutput,
  total_outstanding: Type.Number({ description: 'Totals of sent and overdue invoices' }),
  total_amount: Type.Number({ description: 'Totals of every invoice except cancelled ones' }),
});

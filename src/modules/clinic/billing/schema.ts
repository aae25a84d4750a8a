import { Type, type Static } from 'typebox';
import { DateOnly, Nullable, Pagination, PagingQuery, RequiredText, Timestamp, Uuid } from '../../../core/http/schemas.js';
import { DateRangeQuery, Money, MoneyOf } from '../common.js';

export const PAYMENT_METHODS = ['cash', 'mpesa', 'bank_transfer', 'insurance', 'other'] as const;
export const INVOICE_STATUSES = ['unpaid', 'partial', 'paid'] as const;

export const InvoiceItem = Type.Object({
  description: Type.String(),
  quantity: Type.Integer(),
  unit_price: Type.Number(),
  item_type: Nullable(Type.String()),
  amount: Type.Number(),
});

export const InvoiceItemInput = Type.Object(
  {
    description: RequiredText(500),
    quantity: Type.Integer({ minimum: 1, maximum: 100_000 }),
    unit_price: Money,
    item_type: Type.Optional(Nullable(RequiredText(50, { description: 'e.g. consultation, lab, pharmacy, procedure' }))),
  },
  { additionalProperties: false },
);

export const Payment = Type.Object({
  id: Uuid,
  invoice_id: Uuid,
  amount: Type.Number(),
  method: Type.Enum([...PAYMENT_METHODS]),
  reference: Nullable(Type.String()),
  notes: Nullable(Type.String()),
  received_by: Nullable(Type.String()),
  created_at: Timestamp,
});
export type Payment = Static<typeof Payment>;

export const Invoice = Type.Object({
  id: Uuid,
  invoice_number: Type.String(),
  patient_id: Uuid,
  visit_id: Nullable(Uuid),
  items: Type.Array(InvoiceItem),
  subtotal: Type.Number(),
  vat: Type.Number(),
  discount: Type.Number(),
  total: Type.Number(),
  amount_paid: Type.Number(),
  balance: Type.Number(),
  status: Type.Enum([...INVOICE_STATUSES]),
  due_date: DateOnly,
  created_at: Timestamp,
  updated_at: Timestamp,
});
export type Invoice = Static<typeof Invoice>;

export const InvoiceWithPayments = Type.Object({ ...Invoice.properties, payments: Type.Array(Payment) });

export const CreateInvoiceBody = Type.Object(
  {
    patient_id: Uuid,
    visit_id: Type.Optional(Nullable(Uuid)),
    items: Type.Array(InvoiceItemInput, { minItems: 1, maxItems: 100 }),
    discount: Type.Optional(Money),
  },
  { additionalProperties: false },
);
export type CreateInvoiceBody = Static<typeof CreateInvoiceBody>;

export const InvoicesQuery = Type.Object({
  ...PagingQuery(50, 200),
  status: Type.Optional(Type.Enum([...INVOICE_STATUSES])),
  patient_id: Type.Optional(Uuid),
});
export const InvoiceList = Type.Object({ invoices: Type.Array(Invoice), pagination: Pagination });

export const CreatePaymentBody = Type.Object(
  {
    invoice_id: Uuid,
    amount: MoneyOf({ exclusiveMinimum: 0 }),
    method: Type.Enum([...PAYMENT_METHODS]),
    reference: Type.Optional(Nullable(RequiredText(100, { description: 'The transaction reference; required for mpesa' }))),
    notes: Type.Optional(Nullable(Type.String({ maxLength: 1000 }))),
  },
  { additionalProperties: false },
);
export type CreatePaymentBody = Static<typeof CreatePaymentBody>;

export const PaymentHeaders = Type.Object({
  'idempotency-key': Type.Optional(
    Type.String({ minLength: 1, maxLength: 255, pattern: '^[\\x21-\\x7E]+$', description: 'A retried payment with the same key answers the first result' }),
  ),
});

export const PaymentResult = Type.Object({ payment: Payment, invoice: Invoice });

export const ReportQuery = Type.Object(DateRangeQuery);
export const FinancialReport = Type.Object({
  from: DateOnly,
  to: DateOnly,
  revenue_by_day: Type.Array(Type.Object({ date: DateOnly, amount: Type.Number() })),
  payments_by_method: Type.Object(Object.fromEntries(PAYMENT_METHODS.map((method) => [method, Type.Number()]))),
  outstanding_total: Type.Number(),
  invoice_count: Type.Integer(),
});

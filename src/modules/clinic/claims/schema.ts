import { Type, type Static } from 'typebox';
import { Nullable, Pagination, PagingQuery, RequiredText, Timestamp, Uuid } from '../../../core/http/schemas.js';
import { DateRangeQuery, Money } from '../common.js';
import { Icd11Code } from '../visits/schema.js';

export const CLAIM_STATUSES = ['draft', 'ready_to_submit', 'submitted', 'approved', 'rejected', 'paid', 'partially_paid'] as const;
export type ClaimStatus = (typeof CLAIM_STATUSES)[number];
export const ClaimStatusSchema = Type.Enum([...CLAIM_STATUSES]);

export const ClaimDiagnosis = Type.Object({ code: Type.String(), description: Type.String() });
export const ClaimItem = Type.Object({
  intervention_code: Type.String(),
  description: Type.String(),
  quantity: Type.Integer(),
  unit_price: Type.Number(),
  amount: Type.Number(),
});
export const StatusHistoryEntry = Type.Object({ status: ClaimStatusSchema, at: Timestamp, by: Nullable(Type.String()), reason: Nullable(Type.String()) });
export type StatusHistoryEntry = Static<typeof StatusHistoryEntry>;

export const Claim = Type.Object({
  id: Uuid,
  claim_number: Type.String(),
  patient_id: Uuid,
  visit_id: Nullable(Uuid),
  diagnoses: Type.Array(ClaimDiagnosis),
  items: Type.Array(ClaimItem),
  claim_amount: Type.Number(),
  status: ClaimStatusSchema,
  status_history: Type.Array(StatusHistoryEntry),
  rejection_reason: Nullable(Type.String()),
  approved_amount: Nullable(Type.Number()),
  paid_amount: Nullable(Type.Number()),
  notes: Nullable(Type.String()),
  created_at: Timestamp,
  updated_at: Timestamp,
});
export type Claim = Static<typeof Claim>;

const DiagnosisInput = Type.Object({ code: Icd11Code, description: RequiredText(500) }, { additionalProperties: false });
/** SHA tariff intervention codes look like `SHA-01-001`; the shape is kept loose, the payer validates the code. */
const InterventionCode = Type.String({ minLength: 2, maxLength: 40, pattern: '^[A-Za-z0-9][A-Za-z0-9._/-]*$' });
const ItemInput = Type.Object(
  {
    intervention_code: InterventionCode,
    description: RequiredText(500),
    quantity: Type.Optional(Type.Integer({ minimum: 1, maximum: 100_000 })),
    unit_price: Money,
  },
  { additionalProperties: false },
);

export const CreateClaimBody = Type.Object(
  {
    patient_id: Uuid,
    visit_id: Type.Optional(Nullable(Uuid)),
    diagnoses: Type.Optional(Type.Array(DiagnosisInput, { maxItems: 20, description: 'The first is the primary diagnosis; taken from the visit when left out' })),
    items: Type.Optional(Type.Array(ItemInput, { maxItems: 100 })),
    notes: Type.Optional(Nullable(Type.String({ maxLength: 5000 }))),
  },
  { additionalProperties: false },
);
export type CreateClaimBody = Static<typeof CreateClaimBody>;

export const UpdateClaimBody = Type.Object(
  {
    visit_id: Type.Optional(Nullable(Uuid)),
    diagnoses: Type.Optional(Type.Array(DiagnosisInput, { maxItems: 20 })),
    items: Type.Optional(Type.Array(ItemInput, { maxItems: 100 })),
    notes: Type.Optional(Nullable(Type.String({ maxLength: 5000 }))),
  },
  { additionalProperties: false, minProperties: 1 },
);
export type UpdateClaimBody = Static<typeof UpdateClaimBody>;

export const ClaimStatusBody = Type.Object(
  {
    status: ClaimStatusSchema,
    reason: Type.Optional(Nullable(Type.String({ maxLength: 2000 }))),
    approved_amount: Type.Optional(Money),
    paid_amount: Type.Optional(Money),
  },
  { additionalProperties: false },
);
export type ClaimStatusBody = Static<typeof ClaimStatusBody>;

export const ClaimsQuery = Type.Object({
  ...PagingQuery(50, 200),
  status: Type.Optional(ClaimStatusSchema),
  patient_id: Type.Optional(Uuid),
  ...DateRangeQuery,
});
export const ClaimList = Type.Object({ claims: Type.Array(Claim), pagination: Pagination });


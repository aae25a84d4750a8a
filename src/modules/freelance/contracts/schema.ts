import { Type, type Static } from 'typebox';
import { DateOnly, Nullable, RequiredText, Timestamp, Uuid } from '../../../core/http/schemas.js';
import { Currency, EmailOrEmpty, ListPaging, MoneyInput, MoneyOutput, Optional, OptionalText, OrNull, OwnedFields } from '../common.js';
import { CONTRACT_STATUSES, CONTRACT_TYPES } from './rules.js';

export const ContractType = Type.Enum(CONTRACT_TYPES);
export const ContractStatus = Type.Enum(CONTRACT_STATUSES);
export const TITLE_MAX = 200;

export const Party = Type.Object({ name: Type.String(), role: OrNull(Type.String()), email: OrNull(Type.String()) });
export type Party = Static<typeof Party>;

export const Contract = Type.Object({
  ...OwnedFields,
  title: Type.String(),
  client_id: OrNull(Uuid),
  type: ContractType,
  status: ContractStatus,
  content: OrNull(Type.String()),
  parties: Type.Array(Party),
  deliverables: Type.Array(Type.String()),
  start_date: OrNull(DateOnly),
  end_date: OrNull(DateOnly),
  value: OrNull(MoneyOutput),
  currency: Type.String(),
  signed_date: OrNull(Timestamp),
});
export type Contract = Static<typeof Contract>;

const PartyInput = Type.Object(
  {
    name: RequiredText(200),
    role: OptionalText(100),
    email: Type.Optional(Nullable(EmailOrEmpty)),
  },
  { additionalProperties: false },
);

const contractFields = {
  client_id: Optional(Uuid),
  type: Type.Optional(ContractType),
  status: Type.Optional(ContractStatus),
  content: OptionalText(100_000),
  parties: Type.Optional(Type.Array(PartyInput, { maxItems: 20 })),
  deliverables: Type.Optional(Type.Array(RequiredText(1000), { maxItems: 100 })),
  start_date: Optional(DateOnly),
  end_date: Optional(DateOnly),
  value: Optional(MoneyInput),
  currency: Type.Optional(Currency),
  signed_date: Optional(Timestamp),
};

export const CreateContractBody = Type.Object({ title: RequiredText(TITLE_MAX), ...contractFields }, { additionalProperties: false });
export type CreateContractBody = Static<typeof CreateContractBody>;

export const UpdateContractBody = Type.Object({ title: Type.Optional(RequiredText(TITLE_MAX)), ...contractFields }, { additionalProperties: false });
export type UpdateContractBody = Static<typeof UpdateContractBody>;

export const ContractListQuery = Type.Object({
  status: Type.Optional(ContractStatus),
  type: Type.Optional(ContractType),
  ...ListPaging,
});
export type ContractListQuery = Static<typeof ContractListQuery>;

export const ContractTemplate = Type.Object({ id: Type.String(), name: Type.String(), type: ContractType, content: Type.String() });

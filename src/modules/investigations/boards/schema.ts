import { Type, type Static } from 'typebox';
import { Nullable, PagingQuery, RequiredText, Timestamp, Uuid } from '../../../core/http/schemas.js';

export const MemberRole = Type.Union([Type.Literal('owner'), Type.Literal('admin'), Type.Literal('member'), Type.Literal('viewer')]);

export const Investigation = Type.Object({
  id: Uuid,
  code: Type.String({ description: 'Join code: 8 characters A-Z0-9' }),
  title: Type.String(),
  description: Nullable(Type.String()),
  is_active: Type.Boolean(),
  created_by: Uuid,
  created_at: Timestamp,
  updated_at: Timestamp,
  member_count: Type.Integer(),
  role: MemberRole,
});
export type Investigation = Static<typeof Investigation>;

/** Stored trimmed; blank ("   ") is refused by the schema, before any trimming. */
const Title = RequiredText(200);
const Description = Type.String({ maxLength: 10_000 });

export const CreateInvestigationBody = Type.Object(
  { title: Title, description: Type.Optional(Nullable(Description)) },
  { additionalProperties: false },
);
export type CreateInvestigationBody = Static<typeof CreateInvestigationBody>;

export const UpdateInvestigationBody = Type.Object(
  { title: Type.Optional(Title), description: Type.Optional(Nullable(Description)), is_active: Type.Optional(Type.Boolean()) },
  { additionalProperties: false, minProperties: 1 },
);
export type UpdateInvestigationBody = Static<typeof UpdateInvestigationBody>;

export const ListInvestigationsQuery = Type.Object(PagingQuery(100, 500));
export const InvestigationList = Type.Object({ investigations: Type.Array(Investigation) });

export const Created = Type.Object({ message: Type.String(), id: Uuid, code: Type.String() });

export const JoinBody = Type.Object({ code: RequiredText(64) }, { additionalProperties: false });
export const JoinResult = Type.Object({ message: Type.String(), investigation_id: Uuid });

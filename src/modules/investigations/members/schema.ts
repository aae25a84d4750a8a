import { Type, type Static } from 'typebox';
import { Nullable, PagingQuery, Timestamp, Uuid } from '../../../core/http/schemas.js';
import { MemberRole } from '../boards/schema.js';

export const Member = Type.Object({
  id: Uuid,
  username: Nullable(Type.String()),
  email: Type.String(),
  name: Nullable(Type.String()),
  avatar: Nullable(Type.String()),
  role: MemberRole,
  joined_at: Timestamp,
  last_seen: Nullable(Timestamp),
  online: Type.Boolean(),
});
export type Member = Static<typeof Member>;

export const PresenceMember = Type.Object({
  id: Uuid,
  username: Nullable(Type.String()),
  avatar: Nullable(Type.String()),
  role: MemberRole,
  last_seen: Nullable(Timestamp),
  online: Type.Boolean(),
});
export type PresenceMember = Static<typeof PresenceMember>;

export const MembersQuery = Type.Object(PagingQuery(200, 1000));
export const MemberList = Type.Object({ members: Type.Array(Member) });
export const PresenceList = Type.Object({ members: Type.Array(PresenceMember) });

export const MemberParams = Type.Object({ id: Uuid, user_id: Uuid });

export const UpdateMemberBody = Type.Object(
  { role: Type.Union([Type.Literal('admin'), Type.Literal('member'), Type.Literal('viewer')], { description: 'The owner role cannot be given' }) },
  { additionalProperties: false },
);

export const RemovedMember = Type.Object({
  message: Type.String(),
  code: Type.String({ description: 'The join code now in force (a new one when someone else was removed)' }),
  removed_user_id: Uuid,
});

export const Heartbeat = Type.Object({ status: Type.Literal('ok'), last_seen: Timestamp });

import { Type, type Static } from 'typebox';
import { Nullable, RequiredText, Timestamp, Uuid } from '../../../core/http/schemas.js';
import { EntityType } from '../entities/schema.js';

const EntityRef = Type.Object({ id: Uuid, title: Type.String(), type: EntityType });

export const Link = Type.Object({
  id: Uuid,
  from_entity: EntityRef,
  to_entity: EntityRef,
  title: Type.String(),
  description: Nullable(Type.String()),
  created_by: Uuid,
  created_at: Timestamp,
});
export type Link = Static<typeof Link>;

export const CreateLinkBody = Type.Object(
  {
    from_entity_id: Uuid,
    to_entity_id: Uuid,
    title: RequiredText(200),
    description: Type.Optional(Nullable(Type.String({ maxLength: 5000 }))),
  },
  { additionalProperties: false },
);
export type CreateLinkBody = Static<typeof CreateLinkBody>;

export const LINK_LIST_DEFAULT = 2000;
export const LINK_LIST_MAX = 10_000;
export const LinksQuery = Type.Object({
  limit: Type.Integer({ minimum: 1, maximum: LINK_LIST_MAX, default: LINK_LIST_DEFAULT }),
  offset: Type.Integer({ minimum: 0, maximum: 1_000_000, default: 0 }),
});
export const LinkList = Type.Object({ links: Type.Array(Link) });
export const LinkParams = Type.Object({ id: Uuid, link_id: Uuid });
export const LinkCreated = Type.Object({ id: Uuid, message: Type.String() });

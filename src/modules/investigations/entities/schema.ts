import { Type, type Static } from 'typebox';
import { DateOnly, Nullable, RequiredText, Timestamp, Uuid } from '../../../core/http/schemas.js';
import { Tag } from '../tags/schema.js';

export const EntityType = Type.Union([Type.Literal('person'), Type.Literal('location'), Type.Literal('evidence'), Type.Literal('event')]);

export const Entity = Type.Object({
  id: Uuid,
  type: EntityType,
  title: Type.String(),
  description: Nullable(Type.String()),
  role: Nullable(Type.String()),
  location: Nullable(Type.String()),
  address: Nullable(Type.String()),
  event_date: Nullable(Type.String()),
  event_end_date: Nullable(Type.String()),
  is_timeslot: Type.Boolean(),
  evidence_type: Nullable(Type.String()),
  photo_url: Nullable(Type.String()),
  tags: Type.Array(Tag),
  comments_count: Type.Integer(),
  attachments_count: Type.Integer(),
  created_by: Uuid,
  created_at: Timestamp,
  updated_at: Timestamp,
});
export type Entity = Static<typeof Entity>;

/** Core's formats: a real calendar date, or a date-time `Date` can hold (a leap second is refused). */
const EventDate = Type.Union([DateOnly, Timestamp], { description: 'A date (YYYY-MM-DD) or an RFC 3339 date-time' });
export const MAX_TAGS_PER_ENTITY = 50;
const TagNames = Type.Array(RequiredText(50), { maxItems: MAX_TAGS_PER_ENTITY, description: 'Tag names; created when new' });

const fields = {
  entity_type: EntityType,
  type: EntityType,
  title: RequiredText(200),
  description: Nullable(Type.String({ maxLength: 10_000 })),
  role: Nullable(Type.String({ maxLength: 200 })),
  location: Nullable(Type.String({ maxLength: 500 })),
  address: Nullable(Type.String({ maxLength: 500 })),
  event_date: Nullable(EventDate),
  event_end_date: Nullable(EventDate),
  is_timeslot: Type.Boolean(),
  evidence_type: Nullable(Type.String({ maxLength: 200 })),
  tags: TagNames,
};

export const CreateEntityBody = Type.Object(
  {
    entity_type: Type.Optional(fields.entity_type),
    type: Type.Optional(fields.type),
    title: fields.title,
    description: Type.Optional(fields.description),
    role: Type.Optional(fields.role),
    location: Type.Optional(fields.location),
    address: Type.Optional(fields.address),
    event_date: Type.Optional(fields.event_date),
    event_end_date: Type.Optional(fields.event_end_date),
    is_timeslot: Type.Optional(fields.is_timeslot),
    evidence_type: Type.Optional(fields.evidence_type),
    tags: Type.Optional(fields.tags),
  },
  { additionalProperties: false },
);
export type CreateEntityBody = Static<typeof CreateEntityBody>;

/** The create body's fields, every one optional (a partial update), at least one given. */
export const UpdateEntityBody = Type.Partial(CreateEntityBody, { additionalProperties: false, minProperties: 1 });
export type UpdateEntityBody = Static<typeof UpdateEntityBody>;

export const ENTITY_LIST_DEFAULT = 1000;
export const ENTITY_LIST_MAX = 5000;

export const EntitiesQuery = Type.Object({
  type: Type.Optional(EntityType),
  // Empty (`?search=&tag=`, a search box or tag picker left blank) is no filter, as `search` on clients.
  search: Type.Optional(Type.String({ maxLength: 200 })),
  tag: Type.Optional(Type.String({ maxLength: 50, description: 'A tag id or a tag name (any case); blank is no filter' })),
  limit: Type.Integer({ minimum: 1, maximum: ENTITY_LIST_MAX, default: ENTITY_LIST_DEFAULT }),
  offset: Type.Integer({ minimum: 0, maximum: 1_000_000, default: 0 }),
});
export type EntitiesQuery = Static<typeof EntitiesQuery>;

export const EntityList = Type.Object({ entities: Type.Array(Entity) });
export const EntityParams = Type.Object({ id: Uuid, entity_id: Uuid });
export const EntityCreated = Type.Object({ id: Uuid, message: Type.String() });

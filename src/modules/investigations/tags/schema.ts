import { Type, type Static } from 'typebox';
import { PagingQuery, RequiredText, Uuid } from '../../../core/http/schemas.js';

export const Tag = Type.Object({ id: Uuid, name: Type.String(), color: Type.String() });
export type Tag = Static<typeof Tag>;

export const DEFAULT_TAG_COLOR = '#6B7280';
const COLOR_PATTERN = '^#[0-9A-Fa-f]{6}$';
const Color = Type.String({ pattern: COLOR_PATTERN, description: '#RRGGBB' });
const Name = RequiredText(50);

export const CreateTagBody = Type.Object(
  { name: Name, color: Type.Optional(Type.String({ pattern: COLOR_PATTERN, default: DEFAULT_TAG_COLOR, description: '#RRGGBB' })) },
  { additionalProperties: false },
);
export const UpdateTagBody = Type.Object({ name: Type.Optional(Name), color: Type.Optional(Color) }, { additionalProperties: false, minProperties: 1 });
export const TagsQuery = Type.Object(PagingQuery(500, 2000));
export const TagList = Type.Object({ tags: Type.Array(Tag) });
export const TagParams = Type.Object({ id: Uuid, tag_id: Uuid });

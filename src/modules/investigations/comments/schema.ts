import { Type, type Static } from 'typebox';
import { Nullable, PagingQuery, RequiredText, Timestamp, Uuid } from '../../../core/http/schemas.js';

export const Comment = Type.Object({
  id: Uuid,
  content: Type.String(),
  author: Type.Object({ id: Uuid, username: Nullable(Type.String()), name: Nullable(Type.String()) }),
  created_at: Timestamp,
  updated_at: Timestamp,
});
export type Comment = Static<typeof Comment>;

export const CommentBody = Type.Object({ content: RequiredText(10_000) }, { additionalProperties: false });
export const CommentsQuery = Type.Object(PagingQuery(200, 1000));
export const CommentList = Type.Object({ comments: Type.Array(Comment) });
export const CommentParams = Type.Object({ id: Uuid, comment_id: Uuid });

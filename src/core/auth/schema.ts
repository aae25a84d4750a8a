import { Type, type Static } from 'typebox';
import { Nullable, Pagination, PagingQuery, RequiredText, Timestamp, Uuid } from '../http/schemas.js';

export const Role = Type.Union([Type.Literal('user'), Type.Literal('admin')]);

export const User = Type.Object({
  id: Uuid,
  email: Type.String(),
  username: Nullable(Type.String()),
  name: Nullable(Type.String()),
  first_name: Nullable(Type.String()),
  last_name: Nullable(Type.String()),
  avatar: Nullable(Type.String()),
  role: Role,
  is_active: Type.Boolean(),
  created_at: Timestamp,
  updated_at: Timestamp,
});
export type User = Static<typeof User>;

const Email = Type.String({ format: 'email', maxLength: 254 });
const Password = Type.String({ minLength: 8, maxLength: 128 });
const Username = Type.String({ pattern: '^[A-Za-z0-9_.-]{3,32}$', description: '3 to 32 letters, digits, _ . -' });
const PersonName = RequiredText(100);
const AvatarUrl = Type.String({ maxLength: 2048, pattern: '^https?://', description: 'An http(s) URL' });

export const RegisterBody = Type.Object(
  {
    email: Email,
    password: Password,
    name: Type.Optional(PersonName),
    username: Type.Optional(Username),
    first_name: Type.Optional(PersonName),
    last_name: Type.Optional(PersonName),
  },
  { additionalProperties: false },
);
export type RegisterBody = Static<typeof RegisterBody>;

export const LoginBody = Type.Union([
  Type.Object({ email: Type.String({ minLength: 1, maxLength: 254 }), password: Type.String({ minLength: 1, maxLength: 128 }) }, { additionalProperties: false }),
  Type.Object({ username: Type.String({ minLength: 1, maxLength: 254 }), password: Type.String({ minLength: 1, maxLength: 128 }) }, { additionalProperties: false }),
]);
export type LoginBody = Static<typeof LoginBody>;

export const UpdateMeBody = Type.Object(
  {
    name: Type.Optional(Nullable(PersonName)),
    username: Type.Optional(Nullable(Username)),
    first_name: Type.Optional(Nullable(PersonName)),
    last_name: Type.Optional(Nullable(PersonName)),
    avatar: Type.Optional(Nullable(AvatarUrl)),
  },
  { additionalProperties: false },
);
export type UpdateMeBody = Static<typeof UpdateMeBody>;

export const RefreshBody = Type.Object({ refresh_token: Type.String({ minLength: 1, maxLength: 512 }) }, { additionalProperties: false });

export const PasswordBody = Type.Object(
  { current_password: Type.String({ minLength: 1, maxLength: 128 }), new_password: Password },
  { additionalProperties: false },
);

export const AuthResult = Type.Object({
  message: Type.String(),
  token: Type.String(),
  refresh_token: Type.String(),
  user: User,
});

export const TokenPair = Type.Object({ token: Type.String(), refresh_token: Type.String() });

export const AdminUsersQuery = Type.Object({
  ...PagingQuery(50, 200),
  search: Type.Optional(Type.String({ maxLength: 100 })),
});
export const AdminUserList = Type.Object({ users: Type.Array(User), pagination: Pagination });

export const AdminUpdateBody = Type.Object(
  { role: Type.Optional(Role), is_active: Type.Optional(Type.Boolean()) },
  { additionalProperties: false, minProperties: 1 },
);
export const UnlockResult = Type.Object({ message: Type.String(), user: User });

import { Type, type Static, type TNumberOptions, type TSchema, type TStringOptions } from 'typebox';

/** Shared building blocks of route schemas. */

export const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);

export const ErrorBody = Type.Object(
  {
    error: Type.String(),
    code: Type.String(),
    details: Type.Optional(Type.Array(Type.Object({ field: Type.String(), message: Type.String() }))),
    request_id: Type.Optional(Type.String()),
  },
  { $id: 'ErrorBody', description: 'Every failure: a readable message and a machine code' },
);

export const Uuid = Type.String({ format: 'uuid' });
export const IdParams = Type.Object({ id: Uuid });
export type IdParams = Static<typeof IdParams>;

/**
 * Text a person must fill in (a name, a title): at least one character that is not white space, so
 * `"   "` is refused instead of being stored as a blank.
 */
export const RequiredText = (maxLength: number, options: TStringOptions = {}) => Type.String({ minLength: 1, maxLength, pattern: '\\S', ...options });

export const Timestamp = Type.String({ format: 'date-time' });
export const DateOnly = Type.String({ format: 'date' });

export const MessageBody = Type.Object({ message: Type.String() });

/** `limit`/`offset` paging with the given default and maximum page size. */
export function PagingQuery(defaultLimit: number, maxLimit: number) {
  return {
    limit: Type.Integer({ minimum: 1, maximum: maxLimit, default: defaultLimit }),
    offset: Type.Integer({ minimum: 0, maximum: 1_000_000, default: 0 }),
  };
}

export const Pagination = Type.Object({ limit: Type.Integer(), offset: Type.Integer(), total: Type.Integer() });

/** Money in integer minor units <-> a JSON number with two decimals. */
export const toCents = (amount: number): number => Math.round(amount * 100);

/**
 * Whether an amount is whole cents. JSON `10.99` is the double nearest 10.99, and whole cents / 100
 * (division is correctly rounded) is that same double, so the comparison is exact: no tolerance, and
 * `50.004` or `1e-7` are refused. (ajv's `multipleOf: 0.01` refuses 0.07 and one amount in six.)
 */
export const isWholeCents = (amount: number): boolean => Math.round(amount * 100) / 100 === amount;

/** The schema keyword, checked by the request validators, that refuses an amount with more than two decimals. */
export const WHOLE_CENTS = 'x-whole-cents';

/**
 * A non-negative amount of money in the currency unit: 400 with "must have at most two decimal
 * places" for `50.004`, instead of a silent rounding to the cent.
 */
export const MoneyAmount = (options: TNumberOptions = {}) => Type.Number({ minimum: 0, ...options, [WHOLE_CENTS]: true });
/**
 * Division is correctly rounded, so whole cents / 100 is already the double nearest the two-decimal
 * amount: the same number `Number((cents / 100).toFixed(2))` gave, without formatting and parsing
 * text (a 50-invoice list: 0.85-0.88x the CPU per request).
 */
export const fromCents = (cents: number): number => Math.round(cents) / 100;
/** `fromCents` for a nullable column (PostgreSQL's bigint may arrive as a string). */
export const optionalFromCents = (cents: number | null): number | null => (cents === null ? null : fromCents(Number(cents)));

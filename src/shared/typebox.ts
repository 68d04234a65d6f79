import { Type, type SchemaOptions, type TSchema, type TUnsafe } from '@sinclair/typebox';
import { MAX_ID } from './ids.js';
import { VISIBLE_CHARACTER } from './text.js';

/** A string restricted to a set of values, as a plain JSON Schema `enum` (clear errors, clean OpenAPI). */
export function StringEnum<const T extends readonly string[]>(
  values: T,
  options: SchemaOptions = {},
): TUnsafe<T[number]> {
  return Type.Unsafe<T[number]>({ type: 'string', enum: [...values], ...options });
}

/** `T` or `null`, as `type: [T, "null"]` where T is a primitive (fast to serialize, exact in OpenAPI 3.1). */
export function Nullable<T extends TSchema>(schema: T, options: SchemaOptions = {}): TUnsafe<T['static'] | null> {
  const { type, ...rest } = schema as unknown as { type: string };
  return Type.Unsafe<T['static'] | null>({ ...rest, type: [type, 'null'], ...options });
}

/**
 * A query parameter that may repeat (values OR-ed): an optional array of `item`, of at most `maxItems`
 * distinct values (repeats are dropped before validation: http/query-string.ts), so that no request's cost
 * grows with the length of its URL.
 */
export function Repeatable<T extends TSchema>(item: T, description: string, maxItems: number) {
  return Type.Optional(
    Type.Array(item, {
      maxItems,
      description: `${description}. Repeat the parameter to match any of several values (at most ${maxItems} distinct).`,
    }),
  );
}

/** `pagenumber` of a paged list: from 1, at most the largest stored id (no list is longer). */
export const PageNumber = Type.Integer({ minimum: 1, maximum: MAX_ID, default: 1, description: 'page number, from 1' });

/** A query string that takes no parameters: any is a 400 (nothing is silently ignored). */
export const NoQuery = Type.Object({}, { additionalProperties: false });

/** A person's, billing group's or group's name: 1–256 characters, not blank, nothing invisible (shared/text.ts). */
export const DisplayName = Type.String({
  minLength: 1,
  maxLength: 256,
  pattern: `^(?=.*\\S)${VISIBLE_CHARACTER}+$`,
  description:
    '1–256 characters, not blank, without control, format (invisible) or line/paragraph separator characters',
});

/** A numeric id in a path. */
export const IdParams = Type.Object({
  id: Type.String({ pattern: '^[0-9]{1,15}$', description: 'a numeric id' }),
});

/** The status of a billing group or group. */
export const ACTIVITY = ['active', 'inactive'] as const;

import { Type, type SchemaOptions, type TSchema, type TUnsafe } from '@sinclair/typebox';

/** A string restricted to a set of values, as a plain JSON Schema `enum` (clear errors, clean OpenAPI). */
export function StringEnum<const T extends readonly string[]>(values: T, options: SchemaOptions = {}): TUnsafe<T[number]> {
  return Type.Unsafe<T[number]>({ type: 'string', enum: [...values], ...options });
}

/** `T` or `null`, as `type: [T, "null"]` where T is a primitive (fast to serialize, exact in OpenAPI 3.1). */
export function Nullable<T extends TSchema>(schema: T, options: SchemaOptions = {}): TUnsafe<T['static'] | null> {
  const { type, ...rest } = schema as unknown as { type: string };
  return Type.Unsafe<T['static'] | null>({ ...rest, type: [type, 'null'], ...options });
}

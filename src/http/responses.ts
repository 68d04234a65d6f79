import { Type } from '@sinclair/typebox';
import { catalog } from '../errors.js';

const titleOf = (status: number) => Object.values(catalog).find((e) => e.status === status)?.title ?? 'Error';

/** Response entries for the given error statuses, each an RFC 9457 problem sent as application/problem+json. */
export function problemResponses(...statuses: number[]) {
  return Object.fromEntries(
    statuses.map((s) => [
      s,
      { description: titleOf(s), content: { 'application/problem+json': { schema: Type.Ref('Problem') } } },
    ]),
  );
}

/**
 * A route serializer that keeps the key order the mapper built: the contract
 * fixes the order of the user object's keys, and fast-json-stringify would
 * move the optional `deactivation_date` last.
 */
export const orderedJson = { serializerCompiler: () => (data: unknown) => JSON.stringify(data) };

import type { LightMyRequestResponse } from 'fastify';
import type { TestApp } from './app.js';

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export const SCIM_USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
export const SCIM_ROSTER = 'urn:roster:params:scim:schemas:extension:roster:2.0:User';
export const SCIM_ERROR = 'urn:ietf:params:scim:api:messages:2.0:Error';
const SCIM_PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

export interface ScimCallOptions {
  /** The key; null sends none. */
  readonly key?: string | null;
  readonly body?: unknown;
  readonly headers?: Record<string, string>;
  /** The request's content type (application/scim+json by default). */
  readonly type?: string;
}

/** Calls /scim/v2 of a test app as an identity provider does: a bearer key, application/scim+json bodies. */
export function scimCaller(t: TestApp, defaultKey: string) {
  return (method: Method, path: string, options: ScimCallOptions = {}): Promise<LightMyRequestResponse> => {
    const key = options.key === undefined ? defaultKey : options.key;
    const headers: Record<string, string> = key === null ? {} : { authorization: `Bearer ${key}` };
    if (options.body !== undefined) headers['content-type'] = options.type ?? 'application/scim+json';
    return t.app.inject({
      method,
      url: `/scim/v2/${path}`,
      headers: { ...headers, ...options.headers },
      ...(options.body !== undefined ? { payload: JSON.stringify(options.body) } : {}),
    });
  };
}

/** A PatchOp body. */
export const patchOp = (...operations: unknown[]) => ({ schemas: [SCIM_PATCH], Operations: operations });

/** The query string of a filter. */
export const filterQuery = (filter: string, extra = '') => `filter=${encodeURIComponent(filter)}${extra}`;

// The console's only way to the API: openapi-fetch over the types generated from Roster's own OpenAPI
// document (schema.d.ts, `npm run api:types`), with the signed-in key on every call.
import createClient, { type Middleware } from 'openapi-fetch';
import { readKey } from '../session';
import type { components, paths } from './schema';

export type User = components['schemas']['User'];
export type UsersPage = components['schemas']['UsersPage'];
export type Problem = components['schemas']['Problem'];
export type BillingGroup = components['schemas']['BillingGroup'];
export type Group = components['schemas']['Group'];
export type AuditEntry = components['schemas']['AuditEntry'];
export type AuditPage = components['schemas']['AuditPage'];
export type Me = components['schemas']['Me'];
export type UserCreate = components['schemas']['UserCreate'];
export type UserPatch = components['schemas']['UserPatch'];
export type Role = User['roles'][number];
export type Status = User['status'];

/** The API root schema.d.ts was generated with (the default API_ROOT); the server may use another. */
const DOCUMENT_ROOT = '/api/v1';

/** The server writes its API_ROOT into index.html (src/web/console.plugin.ts). */
function servedApiRoot(): string {
  const content = document.querySelector<HTMLMetaElement>('meta[name="roster-api-root"]')?.content;
  return content && !content.startsWith('%') ? content : DOCUMENT_ROOT;
}

/** An API answer other than 2xx: its RFC 9457 problem, as the API wrote it. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly problem: Problem,
  ) {
    super(problem.detail);
    this.name = 'ApiError';
  }
}

const apiRoot = servedApiRoot();

const withKeyAndRoot: Middleware = {
  onRequest({ request }) {
    const key = readKey();
    if (key && !request.headers.has('authorization')) request.headers.set('authorization', `Bearer ${key}`);
    if (apiRoot === DOCUMENT_ROOT) return request;
    const url = new URL(request.url);
    url.pathname = apiRoot + url.pathname.slice(DOCUMENT_ROOT.length);
    return new Request(url, request);
  },
};

export const api = createClient<paths>({ baseUrl: window.location.origin });
api.use(withKeyAndRoot);

/** Turns an openapi-fetch answer into its data, or throws ApiError with the problem. */
export function unwrap<T>(result: { data?: T; error?: unknown; response: Response }): T {
  if (result.error !== undefined || result.data === undefined) throw toApiError(result.response, result.error);
  return result.data;
}

function toApiError(response: Response, body: unknown): ApiError {
  if (typeof body === 'object' && body !== null && 'detail' in body)
    return new ApiError(response.status, body as Problem);
  return new ApiError(response.status, {
    type: 'about:blank',
    title: response.statusText || 'Error',
    status: response.status,
    code: 'UNEXPECTED',
    detail: `The server answered ${response.status} ${response.statusText}.`,
  });
}

/** The problem of an error thrown by a call (a network failure becomes a problem too). */
export function problemOf(error: unknown): Problem {
  if (error instanceof ApiError) return error.problem;
  const detail = error instanceof Error ? error.message : String(error);
  return {
    type: 'about:blank',
    title: 'No answer',
    status: 0,
    code: 'NETWORK',
    detail: `Roster did not answer: ${detail}`,
  };
}

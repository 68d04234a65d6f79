import { Type, type Static } from '@sinclair/typebox';

/** One entry of a problem's `errors`: a query/path parameter or a JSON pointer into the body, and what is wrong. */
export const ProblemItem = Type.Object({
  parameter: Type.Optional(Type.String()),
  pointer: Type.Optional(Type.String()),
  header: Type.Optional(Type.String()),
  message: Type.String(),
});
export type ProblemItem = Static<typeof ProblemItem>;

/** RFC 9457 problem details, the body of every error response. */
export const Problem = Type.Object(
  {
    type: Type.String(),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.String(),
    code: Type.String(),
    instance: Type.Optional(Type.String()),
    errors: Type.Optional(Type.Array(ProblemItem)),
  },
  { $id: 'Problem', description: 'RFC 9457 problem details (application/problem+json)' },
);
export type Problem = Static<typeof Problem>;

/** The catalog: every error Roster answers, with a stable code, an HTTP status and a title. */
export const catalog = {
  VALIDATION_FAILED: { status: 400, title: 'Invalid request' },
  MALFORMED_JSON: { status: 400, title: 'Malformed JSON body' },
  UNKNOWN_REFERENCE: { status: 400, title: 'Unknown reference' },
  UNAUTHORIZED: { status: 401, title: 'Authentication required' },
  FORBIDDEN: { status: 403, title: 'Insufficient scope' },
  NOT_FOUND: { status: 404, title: 'Not found' },
  METHOD_NOT_ALLOWED: { status: 405, title: 'Method not allowed' },
  NOT_ACCEPTABLE: { status: 406, title: 'Not acceptable' },
  CONFLICT: { status: 409, title: 'Conflict' },
  PRECONDITION_FAILED: { status: 412, title: 'Precondition failed' },
  PRECONDITION_REQUIRED: { status: 428, title: 'Precondition required' },
  BODY_TOO_LARGE: { status: 413, title: 'Request body too large' },
  URI_TOO_LONG: { status: 414, title: 'URI too long' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, title: 'Unsupported media type' },
  HEADERS_TOO_LARGE: { status: 431, title: 'Request header fields too large' },
  RATE_LIMITED: { status: 429, title: 'Too many requests' },
  TOO_MANY_CONCURRENT: { status: 429, title: 'Too many concurrent requests' },
  REQUEST_TIMEOUT: { status: 408, title: 'Request timeout' },
  SERVICE_UNAVAILABLE: { status: 503, title: 'Service unavailable' },
  QUERY_TOO_COSTLY: { status: 503, title: 'Query too costly' },
  INTERNAL: { status: 500, title: 'Internal server error' },
} as const satisfies Record<string, { status: number; title: string }>;

export type ErrorCode = keyof typeof catalog;

/** An error Roster means to answer: becomes problem+json in the one error handler (http/error-handler.ts). */
export class AppError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly errors: ProblemItem[] | undefined;
  readonly headers: Record<string, string>;

  constructor(
    code: ErrorCode,
    detail: string,
    options: { errors?: ProblemItem[]; headers?: Record<string, string> } = {},
  ) {
    super(detail);
    this.name = 'AppError';
    this.code = code;
    this.status = catalog[code].status;
    this.errors = options.errors;
    this.headers = options.headers ?? {};
  }
}

/** The `type` URI of a problem: stable, one per code of the catalog above. */
function problemType(code: ErrorCode): string {
  return `urn:roster:problem:${code.toLowerCase().replace(/_/g, '-')}`;
}

/** Builds the problem+json body for an error code. */
export function toProblem(code: ErrorCode, detail: string, errors?: ProblemItem[]): Problem {
  const entry = catalog[code];
  const problem: Problem = { type: problemType(code), title: entry.title, status: entry.status, detail, code };
  if (errors && errors.length > 0) problem.errors = errors;
  return problem;
}

export const notFound = (what: string): AppError =>
  new AppError('NOT_FOUND', `${what} was not found in this organization.`);

/** One problem item as a sentence of a detail: `Body field "/email" …`, `Query parameter "x" …` (or `Path`), `Header "h" …`. */
export function describeProblemItem(item: ProblemItem, parameterIn: 'Query' | 'Path' = 'Query'): string {
  if (item.parameter !== undefined) return `${parameterIn} parameter "${item.parameter}" ${item.message}.`;
  if (item.header !== undefined) return `Header "${item.header}" ${item.message}.`;
  return `Body field "${item.pointer}" ${item.message}.`;
}

/** A 400 (or another code) about these fields or parameters, its detail their sentences in order. */
export function invalidFields(
  errors: ProblemItem[],
  code: ErrorCode = 'VALIDATION_FAILED',
  parameterIn: 'Query' | 'Path' = 'Query',
): AppError {
  return new AppError(code, errors.map((item) => describeProblemItem(item, parameterIn)).join(' '), { errors });
}

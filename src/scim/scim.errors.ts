import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppError, type ErrorCode } from '../errors.js';
import { frameworkProblem, toAppError } from '../http/error-handler.js';
import { requestIdHeaders } from '../http/request-id.js';
import { SCIM_MEDIA_TYPE, URN, type ScimErrorBody } from './scim.schemas.js';

/** The scimType values of RFC 7644 §3.12 that Roster answers. */
export type ScimType =
  | 'invalidFilter'
  | 'uniqueness'
  | 'mutability'
  | 'invalidSyntax'
  | 'invalidPath'
  | 'noTarget'
  | 'invalidValue'
  | 'tooMany';

/** An error of the catalog (errors.ts) with the scimType RFC 7644 defines for it. */
class ScimError extends AppError {
  readonly scimType: ScimType | undefined;

  constructor(code: ErrorCode, scimType: ScimType | undefined, detail: string) {
    super(code, detail);
    this.scimType = scimType;
  }
}

/** 400 with a scimType: what the detail names is wrong. */
export const scimBadRequest = (scimType: ScimType, detail: string) =>
  new ScimError('VALIDATION_FAILED', scimType, detail);

/** The scimType of a catalog error raised by the users service or the HTTP layer. */
const SCIM_TYPES: Partial<Record<ErrorCode, ScimType>> = {
  CONFLICT: 'uniqueness',
  VALIDATION_FAILED: 'invalidValue',
  UNKNOWN_REFERENCE: 'invalidValue',
  MALFORMED_JSON: 'invalidSyntax',
};

// The users service names the API's fields; SCIM's clients know the SCIM attributes.
const ATTRIBUTES: Array<[RegExp, string]> = [
  [/^\/username$/, 'userName'],
  [/^\/name$/, 'displayName'],
  [/^\/email$/, 'emails[type eq "work"].value'],
  [/^\/phone$/, 'phoneNumbers[type eq "work"].value'],
  [/^\/access\/billing_groups(\/\d+)?$/, `${URN.roster}:billingGroups`],
  [/^\/access\/group_owners(\/\d+)?$/, `${URN.roster}:groupOwners`],
];

function scimDetail(error: AppError): string {
  return error.message
    .replace(/Body field "([^"]+)"/g, (whole, pointer: string) => {
      const found = ATTRIBUTES.find(([pattern]) => pattern.test(pointer));
      return found ? `Attribute "${found[1]}"` : whole;
    })
    .replace(/\bThe username\b/g, 'The userName');
}

/** The SCIM error object of an AppError. */
function scimErrorBody(error: AppError): ScimErrorBody {
  const scimType = error instanceof ScimError ? error.scimType : SCIM_TYPES[error.code];
  return {
    schemas: [URN.error],
    status: String(error.status),
    ...(scimType ? { scimType } : {}),
    detail: scimDetail(error),
  };
}

/**
 * SCIM's own error rendering under /scim/v2: every error, from a hook, the
 * parser or a route, becomes a SCIM error object (RFC 7644 §3.12); 5xx internals are never sent.
 */
export function registerScimErrors(app: FastifyInstance): void {
  app.setErrorHandler(async (error: FastifyError, request, reply) => {
    let known = toAppError(error);
    if (!known && (error.statusCode ?? 500) < 500) known = new AppError('VALIDATION_FAILED', error.message);
    const appError =
      known ??
      new AppError('INTERNAL', `Something went wrong on our side. Quote request id ${request.id} when reporting it.`);
    if (appError.status >= 500) request.log.error({ err: error }, 'request failed');
    return reply.code(appError.status).headers(appError.headers).send(scimErrorBody(appError));
  });
  app.setNotFoundHandler(async (request, reply) =>
    reply
      .code(404)
      .send(
        scimErrorBody(
          new AppError(
            'NOT_FOUND',
            `There is no ${request.method} ${request.url.split('?')[0]}; SCIM serves /Users, /Groups, /ServiceProviderConfig, /ResourceTypes and /Schemas.`,
          ),
        ),
      ),
  );
}

/** The router's own errors (an over-long path segment, bad percent-encoding) under /scim/v2, as SCIM error objects. */
export function answerScimFrameworkError(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  const problem = frameworkProblem(error);
  reply.headers(requestIdHeaders(request)).code(problem.status).type(SCIM_MEDIA_TYPE).send(scimErrorBody(problem));
}

import { Type, type Static } from '@sinclair/typebox';

/** The schema URNs of RFC 7643/7644 and Roster's extension. */
export const URN = {
  user: 'urn:ietf:params:scim:schemas:core:2.0:User',
  group: 'urn:ietf:params:scim:schemas:core:2.0:Group',
  roster: 'urn:roster:params:scim:schemas:extension:roster:2.0:User',
  enterprise: 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User',
  list: 'urn:ietf:params:scim:api:messages:2.0:ListResponse',
  patch: 'urn:ietf:params:scim:api:messages:2.0:PatchOp',
  search: 'urn:ietf:params:scim:api:messages:2.0:SearchRequest',
  error: 'urn:ietf:params:scim:api:messages:2.0:Error',
  config: 'urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig',
  resourceType: 'urn:ietf:params:scim:schemas:core:2.0:ResourceType',
  schema: 'urn:ietf:params:scim:schemas:core:2.0:Schema',
} as const;

/** The most resources one list answer holds (ServiceProviderConfig `filter.maxResults`); larger counts are served as this. */
export const MAX_RESULTS = 1000;

/** The media type of every SCIM answer. */
export const SCIM_MEDIA_TYPE = 'application/scim+json';

/** Where SCIM lives: at the server root, beside the API root. */
export const SCIM_BASE = '/scim/v2';

/** A SCIM resource or message: validated by the SCIM layer itself (attribute names are case-insensitive). */
const ScimObject = (description: string) =>
  Type.Object({ schemas: Type.Optional(Type.Array(Type.String())) }, { additionalProperties: true, description });

export const ScimUser = ScimObject(
  `A SCIM User (${URN.user}) with Roster's extension (${URN.roster}); see /scim/v2/Schemas`,
);
export const ScimGroup = ScimObject(`A SCIM Group (${URN.group}): one of Roster's eight fixed roles`);
export const ScimListResponse = ScimObject(`${URN.list}: totalResults, itemsPerPage, startIndex, Resources`);
export const ScimPatchOp = ScimObject(`${URN.patch}: Operations of add, replace and remove`);
export const ScimSearchRequest = ScimObject(`${URN.search}: filter, startIndex, count, sortBy, sortOrder, attributes`);
export const ScimError = Type.Object(
  {
    schemas: Type.Array(Type.String()),
    status: Type.String(),
    scimType: Type.Optional(Type.String()),
    detail: Type.String(),
  },
  { description: `${URN.error} (RFC 7644 §3.12)` },
);
export type ScimErrorBody = Static<typeof ScimError>;

/** The list parameters of GET /Users and /Groups (names are matched case-insensitively, so they arrive lower-cased). */
export const ScimListQuery = Type.Object(
  {
    filter: Type.Optional(Type.String({ description: 'RFC 7644 §3.4.2.2 filter, e.g. userName eq "jdoe"' })),
    startindex: Type.Optional(Type.String({ description: '1-based index of the first result; below 1 counts as 1' })),
    count: Type.Optional(
      Type.String({
        description: `results per page; 0 gives only totalResults; above ${MAX_RESULTS} is served as ${MAX_RESULTS}`,
      }),
    ),
    sortby: Type.Optional(Type.String({ description: 'userName or another filterable attribute' })),
    sortorder: Type.Optional(Type.String({ description: 'ascending (default) or descending' })),
    attributes: Type.Optional(Type.String({ description: 'comma-separated attributes to return' })),
    excludedattributes: Type.Optional(Type.String({ description: 'comma-separated attributes to leave out' })),
  },
  { additionalProperties: true },
);
export type ScimListQuery = Static<typeof ScimListQuery>;

/** The projection parameters of GET /Users/{id}. */
export const ScimProjectionQuery = Type.Object(
  {
    attributes: Type.Optional(Type.String({ description: 'comma-separated attributes to return' })),
    excludedattributes: Type.Optional(Type.String({ description: 'comma-separated attributes to leave out' })),
  },
  { additionalProperties: true },
);
export type ScimProjectionQuery = Static<typeof ScimProjectionQuery>;

export const ScimIdParams = Type.Object({ id: Type.String({ minLength: 1, description: 'the resource id' }) });
export type ScimIdParams = Static<typeof ScimIdParams>;

/** A SCIM body as the routes hand it to the service. */
export type ScimBody = Record<string, unknown>;

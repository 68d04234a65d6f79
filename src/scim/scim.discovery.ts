import { CALL_DETAIL_LEVELS, ROLES, STATUSES } from '../users/user.schemas.js';
import { MAX_RESULTS, URN } from './scim.schemas.js';

// The discovery documents of RFC 7644 §4 (served without a key): what Roster supports and how each
// attribute behaves. They describe the mapping in scim.mapper.ts; docs/scim.md says the same in prose.

type Mutability = 'readOnly' | 'readWrite' | 'immutable' | 'writeOnly';
type Returned = 'always' | 'never' | 'default' | 'request';

interface AttributeOptions {
  readonly multiValued?: boolean;
  readonly required?: boolean;
  readonly caseExact?: boolean;
  readonly mutability?: Mutability;
  readonly returned?: Returned;
  readonly uniqueness?: 'none' | 'server' | 'global';
  readonly canonicalValues?: readonly string[];
  readonly subAttributes?: readonly Record<string, unknown>[];
  readonly referenceTypes?: readonly string[];
  readonly description: string;
}

function attribute(name: string, type: string, options: AttributeOptions): Record<string, unknown> {
  return {
    name,
    type,
    multiValued: options.multiValued ?? false,
    description: options.description,
    required: options.required ?? false,
    ...(type === 'string' || type === 'reference' ? { caseExact: options.caseExact ?? false } : {}),
    ...(options.canonicalValues ? { canonicalValues: options.canonicalValues } : {}),
    ...(options.subAttributes ? { subAttributes: options.subAttributes } : {}),
    ...(options.referenceTypes ? { referenceTypes: options.referenceTypes } : {}),
    mutability: options.mutability ?? 'readWrite',
    returned: options.returned ?? 'default',
    uniqueness: options.uniqueness ?? 'none',
  };
}

const text = (name: string, description: string, options: Partial<AttributeOptions> = {}) =>
  attribute(name, 'string', { description, ...options });

const typedValue = (what: string, valueDescription: string) => [
  text('value', valueDescription),
  text('type', `"work": the one ${what} Roster keeps`, { canonicalValues: ['work'] }),
  attribute('primary', 'boolean', { description: 'true: the one Roster keeps is primary' }),
];

const USER_ATTRIBUTES = [
  text('userName', 'Unique login name in the organization (case-insensitively): Roster username', {
    required: true,
    uniqueness: 'server',
  }),
  text('externalId', "The identity provider's id for the user", { caseExact: true }),
  attribute('name', 'complex', {
    description: 'name.formatted is Roster name; givenName and familyName are kept as sent',
    subAttributes: [
      text('formatted', 'The full name: Roster name'),
      text('givenName', 'Given name'),
      text('familyName', 'Family name'),
    ],
  }),
  text('displayName', 'Roster name (the same as name.formatted)'),
  attribute('emails', 'complex', {
    multiValued: true,
    description: 'Roster keeps one email, the work one',
    subAttributes: typedValue('email', 'Email address'),
  }),
  attribute('phoneNumbers', 'complex', {
    multiValued: true,
    description: 'Roster keeps one phone, the work one, as 705-722-4398',
    subAttributes: typedValue('phone', 'Ten digits, optionally after +1'),
  }),
  attribute('active', 'boolean', { description: 'true when the Roster status is activated' }),
  attribute('roles', 'complex', {
    multiValued: true,
    description: 'Roster roles; omitted on PUT, they are kept',
    subAttributes: [text('value', 'A Roster role', { canonicalValues: ROLES }), text('display', 'The role')],
  }),
  attribute('groups', 'complex', {
    multiValued: true,
    mutability: 'readOnly',
    description: 'The role Groups the user is a member of',
    subAttributes: [
      text('value', 'The group id (the role)', { mutability: 'readOnly' }),
      text('display', 'The role', { mutability: 'readOnly' }),
    ],
  }),
];

const ROSTER_ATTRIBUTES = [
  text('callDetailLevel', 'How much call detail the user sees (full by default)', {
    canonicalValues: CALL_DETAIL_LEVELS,
  }),
  attribute('restrictRecordingDownload', 'boolean', { description: 'Whether the user may not download recordings' }),
  text('billingGroups', 'Ids of billing groups whose data the user may access', { multiValued: true, caseExact: true }),
  text('groupOwners', 'Ids of groups (advertisers) the user owns', { multiValued: true, caseExact: true }),
  text('status', 'Roster status', { mutability: 'readOnly', canonicalValues: STATUSES }),
];

const GROUP_ATTRIBUTES = [
  text('displayName', 'The role', { mutability: 'readOnly', required: true, uniqueness: 'server' }),
  attribute('members', 'complex', {
    multiValued: true,
    description: 'The users who hold the role',
    subAttributes: [
      text('value', 'The user id', { mutability: 'immutable', caseExact: true }),
      text('display', 'The userName', { mutability: 'readOnly' }),
      text('type', 'User', { mutability: 'immutable', canonicalValues: ['User'] }),
    ],
  }),
];

const ID_META = {
  mutability: 'readOnly' as const,
  returned: 'always' as const,
  caseExact: true,
  uniqueness: 'server' as const,
};

function schemaDocument(id: string, name: string, description: string, attributes: unknown[], base: string) {
  return {
    schemas: [URN.schema],
    id,
    name,
    description,
    attributes,
    meta: { resourceType: 'Schema', location: `${base}/Schemas/${id}` },
  };
}

/** The Schemas documents: User, Group and Roster's extension. */
export function schemaDocuments(base: string) {
  return [
    schemaDocument(
      URN.user,
      'User',
      'A Roster user',
      [text('id', 'Roster user_id', ID_META), ...USER_ATTRIBUTES],
      base,
    ),
    schemaDocument(
      URN.group,
      'Group',
      "One of Roster's eight fixed roles",
      [text('id', 'The role', ID_META), ...GROUP_ATTRIBUTES],
      base,
    ),
    schemaDocument(URN.roster, 'RosterUser', "Roster's own user attributes", ROSTER_ATTRIBUTES, base),
  ];
}

/** The ResourceTypes documents. */
export function resourceTypeDocuments(base: string) {
  const meta = (id: string) => ({ resourceType: 'ResourceType', location: `${base}/ResourceTypes/${id}` });
  return [
    {
      schemas: [URN.resourceType],
      id: 'User',
      name: 'User',
      endpoint: '/Users',
      description: 'Roster users',
      schema: URN.user,
      schemaExtensions: [{ schema: URN.roster, required: true }],
      meta: meta('User'),
    },
    {
      schemas: [URN.resourceType],
      id: 'Group',
      name: 'Group',
      endpoint: '/Groups',
      description: "Roster's roles",
      schema: URN.group,
      meta: meta('Group'),
    },
  ];
}

/** The ServiceProviderConfig document. */
export function serviceProviderConfig(base: string) {
  return {
    schemas: [URN.config],
    patch: { supported: true },
    bulk: { supported: false, maxOperations: 0, maxPayloadSize: 0 },
    filter: { supported: true, maxResults: MAX_RESULTS },
    changePassword: { supported: false },
    sort: { supported: true },
    etag: { supported: true },
    authenticationSchemes: [
      {
        type: 'oauthbearertoken',
        name: 'Bearer token',
        description: 'A Roster API key as "Authorization: Bearer <key>": write or admin keys write, read keys read',
        primary: true,
      },
    ],
    meta: { resourceType: 'ServiceProviderConfig', location: `${base}/ServiceProviderConfig` },
  };
}

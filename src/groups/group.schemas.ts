import { Type, type Static } from '@sinclair/typebox';
import { MAX_ID } from '../shared/ids.js';
import { ACTIVITY, DisplayName, StringEnum } from '../shared/typebox.js';

const BillingGroupId = Type.Integer({
  minimum: 1,
  maximum: MAX_ID,
  description: 'a leaf billing group of this organization',
});

/** The group (advertiser) object. */
export const Group = Type.Object(
  {
    group_id: Type.Integer(),
    group_name: Type.String(),
    billing_group_id: Type.Integer(),
    status: StringEnum(ACTIVITY),
  },
  { $id: 'Group' },
);
export type Group = Static<typeof Group>;

export const GroupList = Type.Array(Type.Ref('Group'), {
  $id: 'GroupList',
  description: 'groups of the organization, in id order',
});

/** `POST groups`. */
export const GroupCreate = Type.Object(
  {
    group_name: DisplayName,
    billing_group_id: BillingGroupId,
    status: Type.Optional(StringEnum(ACTIVITY, { default: 'active' })),
  },
  { $id: 'GroupCreate', additionalProperties: false },
);
export type GroupCreate = Static<typeof GroupCreate>;

/** `PUT groups/{id}`: rename, move to another leaf billing group, set the status; the id may be echoed. */
export const GroupUpdate = Type.Object(
  {
    group_name: Type.Optional(DisplayName),
    billing_group_id: Type.Optional(BillingGroupId),
    status: Type.Optional(StringEnum(ACTIVITY)),
    group_id: Type.Optional(Type.Integer({ description: "read-only: if sent, must be this group's id" })),
  },
  { $id: 'GroupUpdate', additionalProperties: false, minProperties: 1 },
);
export type GroupUpdate = Static<typeof GroupUpdate>;

export const GroupsQuery = Type.Object(
  {
    billing_group_id: Type.Optional(
      Type.String({
        pattern: '^([0-9]{1,15})?$',
        description: 'a billing group id: only the groups on it are listed (an empty value is the same as none)',
      }),
    ),
  },
  { additionalProperties: false },
);
export type GroupsQuery = Static<typeof GroupsQuery>;

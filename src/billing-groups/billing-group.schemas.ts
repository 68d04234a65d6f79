import { Type, type Static } from '@sinclair/typebox';
import { ACTIVITY, DisplayName, Nullable, StringEnum } from '../shared/typebox.js';

/** The billing group object (an "org group"), as the original product shows it. */
export const BillingGroup = Type.Object(
  {
    billing_group_id: Type.Integer(),
    billing_group_name: Type.String(),
    status: StringEnum(ACTIVITY),
    parent_id: Nullable(Type.Integer(), { description: 'null for a root' }),
  },
  { $id: 'BillingGroup' },
);
export type BillingGroup = Static<typeof BillingGroup>;

export const BillingGroupList = Type.Array(Type.Ref('BillingGroup'), {
  $id: 'BillingGroupList',
  description: 'every billing group of the organization, in id order',
});

/** `POST billinggroups` (a root) and `POST billinggroups/{parent_id}` (a child). */
export const BillingGroupCreate = Type.Object(
  {
    billing_group_name: DisplayName,
    status: Type.Optional(StringEnum(ACTIVITY, { default: 'active' })),
  },
  { $id: 'BillingGroupCreate', additionalProperties: false },
);
export type BillingGroupCreate = Static<typeof BillingGroupCreate>;

/** `PUT billinggroups/{id}`: rename and/or set the status; the id and parent may be echoed unchanged. */
export const BillingGroupUpdate = Type.Object(
  {
    billing_group_name: Type.Optional(DisplayName),
    status: Type.Optional(StringEnum(ACTIVITY)),
    billing_group_id: Type.Optional(
      Type.Integer({ description: "read-only: if sent, must be this billing group's id" }),
    ),
    parent_id: Type.Optional(
      Nullable(Type.Integer(), { description: 'read-only: a billing group cannot move; if sent, must be its parent' }),
    ),
  },
  { $id: 'BillingGroupUpdate', additionalProperties: false, minProperties: 1 },
);
export type BillingGroupUpdate = Static<typeof BillingGroupUpdate>;

/** `POST billinggroups/{id}`: the id is the new billing group's parent (one path template, as OpenAPI requires). */
export const ParentParams = Type.Object({
  id: Type.String({ pattern: '^[0-9]{1,15}$', description: "the parent billing group's id, a number" }),
});

import { Type, type Static } from '@sinclair/typebox';
import { Nullable, StringEnum } from '../shared/typebox.js';
import { SCOPES } from '../http/caller.js';

/** `GET me`: who the calling key is, so a client (the console) knows what it may offer. */
export const Me = Type.Object(
  {
    organization: Type.String({ description: "the name of the key's organization" }),
    key_prefix: Type.String({ description: "the key's public prefix (its first 12 characters; never the key)" }),
    scope: StringEnum(SCOPES, { description: 'read < write < admin: each allows all the previous one does' }),
    expires_at: Nullable(Type.String({ description: 'UTC, `YYYY-MM-DDTHH:MM:SS` with up to 7 fraction digits' }), {
      description: 'when the key stops working; null: it does not expire',
    }),
  },
  { $id: 'Me', additionalProperties: false },
);
export type Me = Static<typeof Me>;

/** Who did a write: an API key (its id and public prefix) or the command line. */
export interface Actor {
  readonly keyId: number | null;
  /** The key's public prefix, or `cli`. Never the key itself. */
  readonly label: string;
  readonly requestId?: string | null;
  /** The protocol a write came through when it is not the API's own: recorded in the audit entry. */
  readonly via?: 'scim';
}

/** The actor of the `roster` commands. */
export const CLI_ACTOR: Actor = { keyId: null, label: 'cli', requestId: null };

/** Who writes, for which organization: what every write service takes. */
export interface WriteContext {
  readonly orgId: number;
  readonly actor: Actor;
}

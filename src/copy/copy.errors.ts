/** A copy refused or failed for a reason the person running it can act on (the CLI prints the message). */
export class CopyError extends Error {}

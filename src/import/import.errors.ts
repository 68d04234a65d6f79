/** A problem with the file as a whole (not one row): its message is shown as is. */
export class ImportFileError extends Error {}

/** The database failed while writing a batch; `kept` says what was imported. */
export class ImportBatchError extends Error {
  constructor(
    readonly line: number,
    override readonly cause: unknown,
    kept: string,
  ) {
    super(
      `the database failed while importing the rows from line ${line} on (${cause instanceof Error ? cause.message : String(cause)}); ${kept}`,
    );
  }
}

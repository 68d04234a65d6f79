import type { ImportCounts } from './import.run.js';

/** A problem with the file as a whole (not one row): its message is shown as is. */
export class ImportFileError extends Error {
  /** What the import did with the rows before `line`; set by the strategy that was importing when the file broke. */
  counts: Readonly<ImportCounts> | null = null;

  constructor(
    message: string,
    /** The line where the file became unreadable: no row from here on was read. null: the file was refused before any. */
    readonly line: number | null = null,
  ) {
    super(message);
  }
}

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

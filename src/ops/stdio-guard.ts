/**
 * `roster serve`: a console line that cannot be written (stdout or stderr closed, EPIPE) is no reason to stop
 * serving, and unhandled it would end in an uncaught error. Log lines go through the log destination,
 * which counts what it drops.
 */
export function keepServingWhenOutputCloses(): void {
  for (const stream of [process.stdout, process.stderr]) stream.on('error', () => {});
}

/**
 * Every other command: a reader that stops reading (`roster export | head`) ends the output, not the
 * command, which finishes its work and exits with its own code, without a stack trace. Any other failure
 * to write stdout (a full disk) is reported and fails the command.
 */
export function endOutputQuietlyWhenReaderCloses(): void {
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') return;
    process.stderr.write(`roster: cannot write to stdout: ${error.message}\n`);
    process.exitCode = 1;
  });
  process.stderr.on('error', () => {});
}

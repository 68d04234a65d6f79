/**
 * `roster serve`: a console line that cannot be written (stdout or stderr closed, EPIPE) is no reason to stop
 * serving, and unhandled it would end in an uncaught error. Log lines go through the log destination,
 * which counts what it drops.
 */
export function keepServingWhenOutputCloses(): void {
  for (const stream of [process.stdout, process.stderr]) stream.on('error', () => {});
}

/** Exit statuses of a run stopped by a signal: 128 + the signal's number, as shells report it. */
const EXIT_STATUS = { SIGINT: 130, SIGTERM: 143 } as const;

/**
 * Runs a long command so that Ctrl-C (SIGINT) and SIGTERM stop it at its next safe point: the
 * signal aborts the AbortSignal the command polls between batches, the command flushes what is
 * finished and returns, and the process then exits with 130 or 143. A second signal while it
 * winds down exits at once (finished results are already on disk: every write is atomic or
 * an fsynced append).
 */
export async function interruptible<T>(
  run: (signal: AbortSignal) => Promise<T>,
  stopping = 'stopping after the current batch',
): Promise<T> {
  const controller = new AbortController();
  let received: keyof typeof EXIT_STATUS | undefined;
  const onSignal = (name: keyof typeof EXIT_STATUS) => () => {
    if (received !== undefined) process.exit(EXIT_STATUS[name]);
    received = name;
    process.stderr.write(`\n${name === 'SIGINT' ? 'Ctrl-C' : name}: ${stopping} (again to stop at once)\n`);
    controller.abort();
  };
  const handlers = { SIGINT: onSignal('SIGINT'), SIGTERM: onSignal('SIGTERM') };
  process.on('SIGINT', handlers.SIGINT);
  process.on('SIGTERM', handlers.SIGTERM);
  try {
    return await run(controller.signal);
  } finally {
    process.removeListener('SIGINT', handlers.SIGINT);
    process.removeListener('SIGTERM', handlers.SIGTERM);
    if (received !== undefined) process.exitCode = EXIT_STATUS[received];
  }
}

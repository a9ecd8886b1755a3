/**
 * Runs `work` from the first moment this thread waits (the next turn of its event loop:
 * while the tiling threads cut, the publishing thread mostly waits for them). Resolves to
 * what `work` threw, or null, never rejects: the publish throws it where it may fail, and
 * a publish that failed first leaves no unhandled rejection behind.
 */
export function whileTiling(work: () => unknown): Promise<unknown> {
  return new Promise((resolve) => setImmediate(resolve))
    .then(() => work())
    .then(() => null, (err: unknown) => err);
}

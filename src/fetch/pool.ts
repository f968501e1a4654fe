/**
 * Runs `count` jobs, at most `concurrency` at a time, started in index order. After a failure no
 * more jobs start, and the failure with the lowest index is thrown: every job before it was started
 * and has finished, so which error is reported never depends on timing.
 */
export async function inOrder<T>(count: number, concurrency: number, job: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = new Array(count);
  const failures: Array<{ i: number; e: unknown }> = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count && failures.length === 0) {
      const i = next++;
      try {
        out[i] = await job(i);
      } catch (e) {
        failures.push({ i, e });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(count, concurrency)) }, worker));
  if (failures.length > 0) throw failures.reduce((a, b) => (b.i < a.i ? b : a)).e;
  return out;
}

/**
 * Like `inOrder`, for jobs that can be abandoned: each job gets a signal that is aborted as soon as
 * any job fails, so that work still under way (a large upload, a download) stops instead of
 * running to its end. The failure thrown is the one that stopped the others (the first to
 * happen), not an abandonment it caused.
 */
export async function inOrderCancelling<T>(count: number, concurrency: number, job: (i: number, signal: AbortSignal) => Promise<T>): Promise<T[]> {
  const stop = new AbortController();
  let cause: { e: unknown } | undefined;
  try {
    return await inOrder(count, concurrency, async (i) => {
      try {
        return await job(i, stop.signal);
      } catch (e) {
        if (!stop.signal.aborted) {
          cause = { e };
          stop.abort();
        }
        throw e;
      }
    });
  } catch (e) {
    throw cause ? cause.e : e;
  }
}

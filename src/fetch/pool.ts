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

/**
 * Progress over several blobs that move at once: each report is one blob's bytes so far (and its
 * size); the sum over all blobs is passed on as (done, total). The total is the one given, else
 * the sum of the sizes of the blobs seen so far.
 */
export function blobProgress(onProgress: (done: number, total: number) => void, total?: number): (blob: string, done: number, size: number) => void {
  const seen = new Map<string, { done: number; size: number }>();
  let sumDone = 0;
  let sumSize = 0;
  return (blob, done, size) => {
    const was = seen.get(blob);
    sumDone += done - (was?.done ?? 0);
    sumSize += size - (was?.size ?? 0);
    seen.set(blob, { done, size });
    onProgress(sumDone, total ?? sumSize);
  };
}

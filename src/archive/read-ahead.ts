/**
 * Reads a stream ahead of its consumer, up to `maxBytes` in whole chunks (never concatenated), so
 * that a decoder running on the thread pool keeps working while the consumer is busy with
 * something else, such as the other side of a comparison. Errors reach the consumer after the
 * chunks read before them; stopping early stops the reading.
 */
export async function* readAhead(source: AsyncIterable<Buffer>, maxBytes: number): AsyncGenerator<Buffer> {
  const queue: Buffer[] = [];
  let queued = 0;
  let done = false;
  let failed = false;
  let error: unknown;
  let stopped = false;
  let wakeConsumer: (() => void) | undefined;
  let wakeProducer: (() => void) | undefined;
  const wake = (which: 'consumer' | 'producer'): void => {
    const w = which === 'consumer' ? wakeConsumer : wakeProducer;
    if (which === 'consumer') wakeConsumer = undefined;
    else wakeProducer = undefined;
    w?.();
  };
  const pump = (async () => {
    try {
      for await (const chunk of source) {
        if (stopped) break;
        queue.push(chunk);
        queued += chunk.length;
        wake('consumer');
        while (queued >= maxBytes && !stopped) await new Promise<void>((r) => { wakeProducer = r; });
        if (stopped) break;
      }
    } catch (e) {
      failed = true;
      error = e;
    } finally {
      done = true;
      wake('consumer');
    }
  })();
  try {
    for (;;) {
      const chunk = queue.shift();
      if (chunk !== undefined) {
        queued -= chunk.length;
        wake('producer');
        yield chunk;
        continue;
      }
      if (failed) throw error;
      if (done) return;
      await new Promise<void>((r) => { wakeConsumer = r; });
    }
  } finally {
    stopped = true;
    wake('producer');
    await pump;
  }
}

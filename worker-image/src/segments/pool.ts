// Runs async tasks with at most `limit` in flight; the first failure aborts the rest.

export async function runPool<T>(
  tasks: ReadonlyArray<(signal: AbortSignal) => Promise<T>>,
  limit: number,
  signal?: AbortSignal,
): Promise<T[]> {
  const controller = new AbortController();
  const onAbort = () => controller.abort(signal?.reason);
  signal?.addEventListener("abort", onAbort, { once: true });
  const results: T[] = new Array(tasks.length);
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async () => {
    while (next < tasks.length && !failure) {
      const i = next++;
      const task = tasks[i];
      if (!task) continue;
      try {
        results[i] = await task(controller.signal);
      } catch (error) {
        failure ??= { error };
        controller.abort(error); // stop the siblings: their output is useless now
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, tasks.length)) }, worker));
  } finally {
    signal?.removeEventListener("abort", onAbort);
  }
  if (failure) throw failure.error;
  return results;
}

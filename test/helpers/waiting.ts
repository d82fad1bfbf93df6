/**
 * Waits until `n` waiters of a backend are subscribed with their registration committed (so a
 * write from now on wakes them), failing fast instead of hanging: when one of `operations`
 * settles first (it finished or failed before it waited), or after `deadlineMs`.
 */
export async function untilWaiting(
  backend: { waiterCount: number },
  n = 1,
  operations: readonly Promise<unknown>[] = [],
  deadlineMs = 30_000,
): Promise<void> {
  let settled: Promise<unknown> | undefined;
  // The handlers return nothing: returning `operation` would hand its rejection on, unhandled.
  const mark = (operation: Promise<unknown>) => () => void (settled ??= operation);
  for (const operation of operations) operation.then(mark(operation), mark(operation));
  const deadline = Date.now() + deadlineMs;
  while (backend.waiterCount < n) {
    if (settled) {
      await settled;
      throw new Error("the operation finished before it waited");
    }
    if (Date.now() > deadline) throw new Error(`only ${backend.waiterCount} of ${n} waiters were registered after ${deadlineMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

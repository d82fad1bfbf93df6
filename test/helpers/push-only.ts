/**
 * Wait options under which only a pushed wake-up counts: the fallback re-read interval is far
 * beyond the timeout, and any round that ended without a wake-up is counted, so a test asserts
 * `counter.unwoken === 0` rather than timing anything.
 */
export function pushOnly(timeoutMs = 10_000) {
  const counter = { unwoken: 0 };
  return { counter, options: { interval: 120_000, timeout: timeoutMs, onInterval: () => void counter.unwoken++ } };
}

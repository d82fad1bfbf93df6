/**
 * Type-level checks, compiled by tsc in test/types.test.ts (never run): what get() is typed to
 * return, and that AsyncResult and EagerResult both satisfy ResultLike.
 */
import { AsyncResult, EagerResult, GroupResult, type ResultLike } from "../../src/index.js";

/** True only when A and B are the same type (not merely assignable). */
type Equal<A, B> = (<X>() => X extends A ? 1 : 2) extends <X>() => X extends B ? 1 : 2 ? true : false;
function expectType<T extends true>(proof?: T): T | undefined {
  return proof;
}

export async function checks(stored: AsyncResult<number>, eager: EagerResult<number>, group: GroupResult): Promise<void> {
  const value = await stored.get();
  expectType<Equal<typeof value, number>>();
  const withTimeout = await stored.get({ timeout: "5s", propagate: true });
  expectType<Equal<typeof withTimeout, number>>();
  const orError = await stored.get({ propagate: false });
  expectType<Equal<typeof orError, number | Error>>();
  const flag: boolean = Math.random() > 0.5;
  const unknownPropagate = await stored.get({ propagate: flag });
  expectType<Equal<typeof unknownPropagate, number | Error>>();
  // @ts-expect-error: with propagate false the value may be the Error, so it is not a number
  const notANumber: number = await stored.get({ propagate: false });
  void notANumber;

  const eagerOrError = await eager.get({ propagate: false, timeout: 1000 });
  expectType<Equal<typeof eagerOrError, number | Error>>();
  const waited = await eager.wait();
  expectType<Equal<typeof waited, number>>();

  const results: ResultLike<number>[] = [stored, eager];
  for (const r of results) {
    const v = await r.get({ propagate: false });
    expectType<Equal<typeof v, number | Error>>();
    const thrown = await r.maybeThrow({ callback: (taskId: string, got: unknown) => void [taskId, got] });
    expectType<Equal<typeof thrown, number | Error | null>>();
    const meta = await r.meta();
    expectType<Equal<typeof meta.result, number | Error | null>>();
  }

  const joined = await group.join({ callback: (taskId, got) => void [taskId, got] });
  expectType<Equal<typeof joined, unknown[]>>();
}

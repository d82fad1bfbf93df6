/**
 * Named locks on SQLite: a lease row in taskledger_lock holding the holder's pid and host, renewed
 * while held (the heartbeat). A holder on this machine whose pid is gone is taken over at once (a
 * killed `backend-cleanup` blocked the next run for the whole lease); one that cannot be checked
 * from here (another host or container) only once its heartbeat stops and the lease runs out.
 */
import type Database from "better-sqlite3";
import type { HeldLock } from "../driver.js";
import { checkedLockName } from "../lock-name.js";
import type { LockName } from "../types.js";
import { describeHolder, holderText, livenessOf, newHolder, parseHolder } from "./lease-holder.js";

/**
 * How long a lease outlives its last heartbeat. Only holders that cannot be checked by pid (another
 * host or container) wait this out; it allows two missed renewals on a busy database.
 */
const LOCK_LEASE_MS = 15_000;
const LOCK_RENEW_MS = 5_000;
const LOCK_POLL_MS = 200;

export interface LeaseStatements {
  lockTake: Database.Statement;
  lockGet: Database.Statement;
  lockTakeOver: Database.Statement;
  lockRenew: Database.Statement;
  lockRelease: Database.Statement;
}

type LeaseRow = { holder: string; expires_at: number };

/**
 * Takes the lease. `ready` is awaited before each attempt: the driver's executor waits there for
 * an application's open transaction on a shared connection to end.
 */
export async function takeLock(
  s: LeaseStatements,
  ready: () => Promise<void>,
  lockName: LockName,
  wait: boolean,
): Promise<HeldLock | undefined> {
  const name = checkedLockName(lockName);
  const me = holderText(newHolder());
  let takenOverFrom: string | undefined;
  for (;;) {
    await ready();
    const now = Date.now();
    if (s.lockTake.run({ name, holder: me, expires_at: now + LOCK_LEASE_MS, now }).changes > 0) break;
    const current = s.lockGet.get({ name }) as LeaseRow | undefined;
    if (current) {
      const previous = parseHolder(current.holder);
      if (
        livenessOf(previous) === "dead" &&
        s.lockTakeOver.run({ name, holder: me, expires_at: now + LOCK_LEASE_MS, previous: current.holder }).changes > 0
      ) {
        takenOverFrom = describeHolder(previous, "dead", current.expires_at, now);
        break;
      }
    }
    if (!wait) return undefined;
    await new Promise((resolve) => setTimeout(resolve, LOCK_POLL_MS));
  }
  let lost = false;
  const renew = setInterval(() => {
    try {
      if (s.lockRenew.run({ name, holder: me, expires_at: Date.now() + LOCK_LEASE_MS }).changes === 0) lost = true;
    } catch {
      // a busy database delays one renewal; the lease has room for two more
    }
  }, LOCK_RENEW_MS);
  renew.unref();
  return {
    ...(takenOverFrom ? { takenOverFrom } : {}),
    // Read at each batch boundary (a point read by primary key): a holder whose lease was taken
    // over (found dead by mistake, or its heartbeat stalled past the lease) stops at once.
    lost: () => {
      if (lost) return true;
      try {
        lost = (s.lockGet.get({ name }) as LeaseRow | undefined)?.holder !== me;
      } catch {
        // busy: the heartbeat still decides
      }
      return lost;
    },
    release: async () => {
      clearInterval(renew);
      await ready();
      s.lockRelease.run({ name, holder: me });
    },
  };
}

/** The lease's holder in words, with whether it still lives; undefined when the lease is free or ran out. */
export function lockHolder(s: LeaseStatements, name: LockName): string | undefined {
  const current = s.lockGet.get({ name: checkedLockName(name) }) as LeaseRow | undefined;
  if (!current || current.expires_at < Date.now()) return undefined;
  const holder = parseHolder(current.holder);
  return describeHolder(holder, livenessOf(holder), current.expires_at);
}

/**
 * Who holds SQLite's cleanup lease, and whether that holder still lives. The lease row
 * records the holder's pid, host name and "scope" (boot id and pid namespace on Linux), so a later
 * run on the same machine can check the pid and take over a killed holder's lease at once instead
 * of waiting for it to run out. A holder that cannot be checked from here (another host, another
 * container, a lease written by an older version) is judged by its heartbeat alone: the lease
 * expiry the holder keeps pushing forward while it runs.
 */
import { randomUUID } from "node:crypto";
import { readFileSync, readlinkSync } from "node:fs";
import { hostname } from "node:os";

export interface LeaseHolder {
  id: string;
  pid: number;
  host: string;
  /** Boot id and pid namespace where the OS exposes them ("" elsewhere): pids compare only within one. */
  scope: string;
}

export type Liveness = "alive" | "dead" | "unknown";

let localScope: string | undefined;

/**
 * Containers sharing a volume can share a host name but not a pid namespace, and a reboot reuses
 * pids: a pid is only checked when both match ours.
 */
function scopeOfThisProcess(): string {
  if (localScope === undefined) {
    const read = (f: () => string) => {
      try {
        return f().trim();
      } catch {
        return "";
      }
    };
    localScope = `${read(() => readFileSync("/proc/sys/kernel/random/boot_id", "utf8"))}/${read(() => readlinkSync("/proc/self/ns/pid"))}`;
  }
  return localScope;
}

/** A fresh holder identity for this process (a new id per lease taken). */
export function newHolder(): LeaseHolder {
  return { id: randomUUID(), pid: process.pid, host: hostname(), scope: scopeOfThisProcess() };
}

/** The holder column's text; older versions stored a bare UUID, which parses as undefined. */
export function holderText(holder: LeaseHolder): string {
  return JSON.stringify(holder);
}

export function parseHolder(text: string): LeaseHolder | undefined {
  if (!text.startsWith("{")) return undefined;
  try {
    const value = JSON.parse(text) as Partial<LeaseHolder>;
    if (typeof value.id !== "string" || !Number.isInteger(value.pid) || typeof value.host !== "string" || typeof value.scope !== "string")
      return undefined;
    return value as LeaseHolder;
  } catch {
    return undefined;
  }
}

/** Alive or dead when the pid can be checked from this process; unknown otherwise. */
export function livenessOf(holder: LeaseHolder | undefined): Liveness {
  if (!holder || holder.host !== hostname() || holder.scope !== scopeOfThisProcess()) return "unknown";
  try {
    process.kill(holder.pid, 0);
    return "alive";
  } catch (error) {
    // EPERM: the pid exists but belongs to another user, so it is alive.
    return (error as NodeJS.ErrnoException).code === "ESRCH" ? "dead" : "alive";
  }
}

/** Says who holds the lease and how we know whether it lives, for messages. */
export function describeHolder(holder: LeaseHolder | undefined, liveness: Liveness, expiresAt: number, now = Date.now()): string {
  const who = holder
    ? `pid ${holder.pid} on ${holder.host === hostname() ? `this host (${holder.host})` : `host ${holder.host}`}`
    : "a holder that recorded no pid";
  if (liveness === "alive") return `${who}, which is alive`;
  if (liveness === "dead") return `${who}, which is no longer running`;
  const left = Math.max(0, Math.ceil((expiresAt - now) / 1000));
  return `${who}, which cannot be checked from here; its heartbeat keeps the lease for ${left} s more unless renewed`;
}

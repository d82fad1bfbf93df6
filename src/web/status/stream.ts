/**
 * A status stream: server-sent events for one task, or for a group's members. It waits on the
 * same change hub as get() waiters (one LISTEN connection per process on PostgreSQL, one
 * data_version check on SQLite), so any writer's commit wakes it, Celery's included.
 *
 * Event ids are history row ids, which grow in commit order for a task: a reconnect's
 * Last-Event-ID resumes with exactly the changes after it. The current state goes first, then one
 * event per change, and the stream ends after a ready state (a task) or once every member is ready
 * (a group). Where history is switched off there are no ids: each wake-up compares states.
 */
import type { DatabaseBackend } from "../../backend/database-backend.js";
import type { Subscription } from "../../backend/result-backend.js";
import { BackendClosedError, DatabaseError } from "../../errors.js";
import { isReady } from "../../states.js";
import type { TaskMeta } from "../../types.js";
import { groupStatus, taskStatus, type TaskStatus } from "./body.js";

/** History rows read per round; a longer backlog is read in several rounds without waiting. */
const ROUND = 500;
/** How soon a browser reconnects after a dropped stream. */
const RETRY_MS = 1_000;

export type StreamSubject = { kind: "task"; taskId: string } | { kind: "group"; groupId: string; memberIds: string[] };

export interface StreamContext {
  backend: DatabaseBackend;
  /** Re-read at least this often even without a wake-up (a lost notification only delays). */
  recheckMs: number;
  historyOn(): Promise<boolean>;
  /** Streams open now; the handler's heartbeat timer writes a comment to each. */
  open: Set<{ beat(): void }>;
  startBeats(): void;
}

const encoder = new TextEncoder();

export function eventStream(
  ctx: StreamContext,
  request: Request,
  subject: StreamSubject,
  lastEventId: number | null,
  expose: boolean,
): Response {
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  let finished = false;
  let subscription: Subscription | undefined;
  const entry = { beat: () => write(": heartbeat\n\n") };
  const finish = () => {
    if (finished) return;
    finished = true;
    ctx.open.delete(entry);
    subscription?.close();
    try {
      controller.close();
    } catch {
      // already closed by the client
    }
  };
  const write = (text: string) => {
    if (finished) return;
    try {
      controller.enqueue(encoder.encode(text));
    } catch {
      finish();
    }
  };
  const send = (event: string, data: unknown, id?: number) =>
    write(`${id === undefined ? "" : `id: ${id}\n`}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  const body = new ReadableStream<Uint8Array>({
    start: (c) => {
      controller = c;
    },
    cancel: finish,
  });
  request.signal?.addEventListener("abort", finish, { once: true });
  ctx.open.add(entry);
  ctx.startBeats();
  write(`retry: ${RETRY_MS}\n\n`);
  void follow(ctx, subject, lastEventId, expose, {
    send,
    finished: () => finished,
    subscribed: (s) => {
      subscription = s;
      if (finished) s.close();
    },
  })
    .catch((error: unknown) => {
      if (!(error instanceof BackendClosedError)) send("error", { message: error instanceof Error ? error.message : String(error) });
    })
    .finally(finish);
  return new Response(body, {
    headers: { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-store", "x-accel-buffering": "no" },
  });
}

interface Sink {
  send(event: string, data: unknown, id?: number): void;
  finished(): boolean;
  subscribed(subscription: Subscription): void;
}

async function follow(ctx: StreamContext, subject: StreamSubject, lastEventId: number | null, expose: boolean, sink: Sink) {
  const { backend } = ctx;
  const ids = subject.kind === "task" ? [subject.taskId] : subject.memberIds;
  // Subscribe before reading, as waiters do: a commit after the read still wakes the stream.
  const subscription = await backend.subscribe(ids);
  sink.subscribed(subscription);
  const history = await ctx.historyOn();
  // The cursor is read before the states: a change between the two is sent twice, never missed.
  let cursor = lastEventId ?? (history ? await backend.latestHistoryId(ids) : 0);
  const states = new Map<string, TaskStatus>();
  const read = async (taskIds: readonly string[]) => {
    for (const [id, meta] of await backend.getManyTaskMeta(taskIds)) {
      if (meta instanceof Error) throw meta;
      states.set(id, taskStatus(meta as TaskMeta, expose));
    }
  };
  await read(ids);
  const allReady = () => [...states.values()].every((s) => s.ready);
  const snapshot = () =>
    subject.kind === "task"
      ? states.get(subject.taskId)!
      : groupStatus(
          subject.groupId,
          ids.map((id) => states.get(id)!),
        );
  const snapshotEvent = subject.kind === "task" ? "state" : "group";
  if (lastEventId === null || subject.kind === "group" || !history) {
    sink.send(snapshotEvent, snapshot(), history ? cursor : undefined);
    if (allReady()) return;
  }
  let wait = false;
  while (!sink.finished()) {
    if (wait && !(await subscription.wait(ctx.recheckMs)) && sink.finished()) return;
    if (sink.finished()) return;
    try {
      if (history) {
        const rows = await backend.historyAfter(ids, cursor, ROUND);
        for (const row of rows) {
          cursor = row.id;
          const ready = isReady(row.status ?? "PENDING");
          if (ready) await read([row.taskId]);
          else states.set(row.taskId, { task_id: row.taskId, state: row.status ?? "PENDING", ready: false, date_done: null });
          const member = { ...states.get(row.taskId)!, state: row.status ?? "PENDING" };
          if (subject.kind === "task") sink.send("state", member, row.id);
          else {
            const group = groupStatus(
              subject.groupId,
              ids.map((id) => states.get(id)!),
            );
            sink.send("member", { group_id: subject.groupId, completed: group.completed, total: group.total, ...member }, row.id);
          }
          if (allReady()) return;
        }
        // A resumed stream of a task that was ready before the cursor has nothing left to say.
        if (rows.length === 0 && !wait && lastEventId !== null) {
          await read(ids);
          if (allReady()) return;
        }
        wait = rows.length < ROUND;
      } else {
        const before = new Map([...states].map(([id, s]) => [id, s.state]));
        await read(ids);
        for (const id of ids)
          if (states.get(id)!.state !== before.get(id)) sink.send(subject.kind === "task" ? "state" : "member", states.get(id));
        if (allReady()) return;
        wait = true;
      }
    } catch (error) {
      // A database away (restart, failover): keep the stream and read again after the next wake-up.
      if (!(error instanceof DatabaseError) || !error.transient) throw error;
      wait = true;
    }
  }
}

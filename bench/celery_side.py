"""
Celery's side of the taskledger benchmark: drives Celery 5.2's DatabaseBackend (app.backend)
directly, with no broker, on its own database, and answers the Node harness (bench/celery.ts)
with one JSON object per line on stdout.

Usage: /usr/bin/python3 bench/celery_side.py <db+postgresql://... | db+sqlite:///...>

Requests arrive on stdin, one JSON object per line; each gets one JSON answer (the "wait"
request gets two: {"event": "waiting"} once it is about to block in get(), then the outcome).

Celery's two ways of talking to the database (celery/backends/database/session.py):
  client  a process that was not forked by a Celery worker (SessionManager.forked is False):
          every operation runs create_engine(url, poolclass=NullPool), so a new connection
          and SQLAlchemy's dialect start-up each time. This is what an API server calling
          AsyncResult(id).get() gets.
  pooled  a prefork worker child (forked is True, set by the after-fork hook): the engine is
          cached with a connection pool (QueuePool on PostgreSQL; SQLAlchemy 1.4 keeps NullPool
          for file SQLite, so there only the engine is reused).
Each timed request names its mode and the flag is set accordingly before the clock starts.
"""
import json
import os
import sys
import threading
import time
import uuid
import warnings

warnings.simplefilter("ignore")

import celery  # noqa: E402
import sqlalchemy  # noqa: E402
from celery import Celery  # noqa: E402
from celery.backends.database import DatabaseBackend  # noqa: E402
from celery.result import ResultSet  # noqa: E402

PAYLOAD = {"n": 1, "payload": "x" * 100}  # the value the Node side stores too

url = sys.argv[1]
app = Celery("taskledger_bench", backend=url)
backend = app.backend
# The SessionManager every ResultSession() call uses: a default argument, shared by the process.
session_manager = DatabaseBackend.ResultSession.__defaults__[0]


def set_mode(mode):
    if mode not in ("client", "pooled"):
        raise ValueError(f"unknown mode {mode!r}")
    session_manager.forked = mode == "pooled"


def rss_kb(field):
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return None


def reply(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def timed(fn):
    started = time.perf_counter()
    fn()
    return (time.perf_counter() - started) * 1000.0


def op_info(_req):
    dialect = "postgresql" if "postgres" in url else "sqlite"
    extra = {}
    if dialect == "sqlite":
        import sqlite3
        extra["sqlite_library"] = sqlite3.sqlite_version
    return {
        "celery": celery.__version__,
        "sqlalchemy": sqlalchemy.__version__,
        "python": sys.version.split()[0],
        "dialect": dialect,
        **extra,
    }


def op_prepare(req):
    # The first backend call creates Celery's tables (metadata.create_all) and sets `prepared`.
    set_mode(req.get("mode", "pooled"))
    backend.get_task_meta("taskledger-bench-prepare")
    return {"ok": True}


def op_seed(req):
    # Untimed: results the read and join rounds then ask for.
    set_mode("pooled")
    for task_id in req["ids"]:
        backend.mark_as_done(task_id, PAYLOAD)
    return {"n": len(req["ids"])}


def op_store(req):
    set_mode(req["mode"])
    ids = [str(uuid.uuid4()) for _ in range(req["n"])]

    def run():
        for task_id in ids:
            backend.mark_as_done(task_id, PAYLOAD)

    return {"ms": timed(run), "n": len(ids)}


def op_store_threads(req):
    set_mode(req["mode"])
    threads = req["threads"]
    per_thread = req["n"] // threads
    errors = []

    def worker():
        try:
            for _ in range(per_thread):
                backend.mark_as_done(str(uuid.uuid4()), PAYLOAD)
        except Exception as exc:  # reported, not swallowed
            errors.append(repr(exc))

    def run():
        pool = [threading.Thread(target=worker) for _ in range(threads)]
        for t in pool:
            t.start()
        for t in pool:
            t.join()

    ms = timed(run)
    return {"ms": ms, "n": per_thread * threads, "errors": errors[:3], "error_count": len(errors)}


def op_read(req):
    set_mode(req["mode"])
    ids = req["ids"]
    statuses = []

    def run():
        for task_id in ids:
            statuses.append(backend.get_task_meta(task_id, cache=False)["status"])

    ms = timed(run)
    if any(s != "SUCCESS" for s in statuses):
        raise RuntimeError("read a task that is not SUCCESS")
    return {"ms": ms, "n": len(ids)}


def op_join(req):
    set_mode(req["mode"])
    results = ResultSet([app.AsyncResult(task_id) for task_id in req["ids"]])
    values = []

    def run():
        values.extend(results.join(timeout=120))

    ms = timed(run)
    if len(values) != len(req["ids"]):
        raise RuntimeError("join returned the wrong number of values")
    return {"ms": ms, "n": len(values)}


def op_wait(req):
    # A client blocked in AsyncResult.get() with Celery's default polling interval.
    set_mode(req.get("mode", "client"))
    result = app.AsyncResult(req["id"])
    reply({"event": "waiting"})
    result.get(timeout=req.get("timeout", 30), interval=req.get("interval", 0.5))
    return {"woke": time.time() * 1000.0}


def op_store_one(req):
    set_mode(req.get("mode", "pooled"))
    backend.mark_as_done(req["id"], {"ok": True})
    return {"committed": time.time() * 1000.0}


def op_cleanup(req):
    set_mode(req.get("mode", "pooled"))
    backend.get_task_meta("taskledger-bench-prepare")  # engine, tables checked: outside the clock
    before = rss_kb("VmRSS")
    ms = timed(backend.cleanup)
    return {"ms": ms, "rss_before_kb": before, "rss_hwm_kb": rss_kb("VmHWM")}


class Writer:
    """Stores results back to back in a thread; records the gaps between successful stores."""

    def __init__(self, mode):
        self.mode = mode
        self.stop_flag = threading.Event()
        self.gaps = []
        self.errors = 0
        self.last_error = None
        self.last = time.perf_counter()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self):
        self.last = time.perf_counter()
        while not self.stop_flag.is_set():
            try:
                backend.mark_as_done(str(uuid.uuid4()), {"ok": True})
            except Exception as exc:
                self.errors += 1
                self.last_error = repr(exc)[:200]
                continue
            now = time.perf_counter()
            self.gaps.append((now - self.last) * 1000.0)
            self.last = now

    def summary(self, stopped_at):
        # A stall still running when the writer is stopped counts too.
        gaps = sorted(self.gaps + [(stopped_at - self.last) * 1000.0])
        return {
            "stores": len(self.gaps),
            "max_gap_ms": gaps[-1] if gaps else None,
            "p50_gap_ms": gaps[len(gaps) // 2] if gaps else None,
            "errors": self.errors,
            "last_error": self.last_error,
        }


writer = None


def op_writer_start(req):
    global writer
    set_mode(req.get("mode", "pooled"))
    backend.get_task_meta("taskledger-bench-prepare")
    writer = Writer(req.get("mode", "pooled"))
    writer.thread.start()
    return {"started": True}


def op_writer_mark(_req):
    # Drops the gaps seen so far: the stall is measured from here (when the cleanup starts).
    writer.gaps = []
    writer.errors = 0
    return {"marked": True}


def op_writer_stop(_req):
    stopped_at = time.perf_counter()
    writer.stop_flag.set()
    writer.thread.join()
    return writer.summary(stopped_at)


OPS = {
    "info": op_info,
    "prepare": op_prepare,
    "seed": op_seed,
    "store": op_store,
    "store_threads": op_store_threads,
    "read": op_read,
    "join": op_join,
    "wait": op_wait,
    "store_one": op_store_one,
    "cleanup": op_cleanup,
    "writer_start": op_writer_start,
    "writer_mark": op_writer_mark,
    "writer_stop": op_writer_stop,
}


def main():
    reply({"event": "ready", "pid": os.getpid()})
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        req = json.loads(line)
        if req.get("op") == "exit":
            break
        try:
            reply(OPS[req["op"]](req))
        except Exception as exc:
            reply({"error": f"{type(exc).__name__}: {exc}"})


if __name__ == "__main__":
    main()

"""The peer: huey on SQLite, the same work as the kernel's scheduler.

Enqueues COUNT no-op tasks (huey has no batch enqueue: one at a time; BATCH
only paces the loop), then starts a consumer with WORKERS threads and times
how long it takes to work them off. SqliteHuey runs with fsync on
(synchronous=FULL, WAL), as the kernel's storage does. Prints one JSON line.

    python3 huey_bench.py DIR COUNT BATCH WORKERS
"""
import json
import os
import sys
import threading
import time

from huey import SqliteHuey
from huey.consumer import Consumer

directory, count, batch, workers = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
huey = SqliteHuey(filename=os.path.join(directory, "huey.db"), results=False, fsync=True)
done = 0
lock = threading.Lock()
finished = threading.Event()


@huey.task()
def noop():
    global done
    with lock:
        done += 1
        if done == count:
            finished.set()


start = time.monotonic()
sent = 0
while sent < count:
    size = min(batch, count - sent)
    for _ in range(size):
        noop()
    sent += size
enqueue_seconds = time.monotonic() - start

consumer = Consumer(huey, workers=workers, worker_type="thread", periodic=False, check_worker_health=False)
start = time.monotonic()
consumer.start()  # the workers and the scheduler, without signal handlers
finished.wait(timeout=600)
work_seconds = time.monotonic() - start
print(json.dumps({"peer": "huey %s (SqliteHuey, %d threads)" % (__import__("huey").__version__, workers),
                  "enqueued": count, "enqueue_per_second": count / enqueue_seconds,
                  "ran": done, "work_per_second": done / work_seconds}))
os._exit(0)

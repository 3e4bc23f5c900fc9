#!/usr/bin/env python3
"""The soak's load, writes, reloads and samples (driven by Benchmarks/soak/run.sh).

For --seconds S against a running kernel:
  - WebSocket and TCP clients call endpoints continuously (hello, greet,
    hello.echo, and short hello.ticker streams), one call at a time each,
    reconnecting when a transport closes the connection;
  - HTTP clients do the same when wrk is not there (--http-clients);
  - a writer puts storage keys through the admin socket (the storage plugin's
    operator endpoints serve no other protocol) and, with pubsub loaded,
    publishes events over HTTP, recording every acknowledged write;
  - every --reload-every seconds `kernelctl reload` of the next plugin of --reload;
  - every --sample-every seconds a CSV line: seconds, RSS MiB, fds, requests served
    (these clients' answers plus wrk's, read from its counter files).
Then every acknowledged write is read back. Prints the table and a summary;
writes <out>/summary.json. Exit 0 unless the kernel died or a write was lost.
"""

import argparse
import base64
import collections
import glob
import json
import os
import random
import socket
import struct
import subprocess
import sys
import threading
import time


def now():
    return time.monotonic()


def say(message):
    print(message, file=sys.stderr, flush=True)


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except (OSError, IndexError):
        return False


def rss_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return -1


def fd_count(pid):
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return -1


class Counters:
    def __init__(self):
        self.lock = threading.Lock()
        self.counts = collections.defaultdict(collections.Counter)
        self.errors = collections.defaultdict(list)

    def add(self, group, key, n=1):
        with self.lock:
            self.counts[group][key] += n

    def error(self, group, detail, key="failed"):
        with self.lock:
            self.counts[group][key] += 1
            if len(self.errors[group]) < 10:
                self.errors[group].append(detail)

    def served(self):
        with self.lock:
            return sum(c["ok"] for c in self.counts.values())


# ---- Wire formats (Protocols/ws-envelope.md, tcp-framing.md)


def ws_frame(opcode, payload):
    key = os.urandom(4)
    n = len(payload)
    head = bytes([0x80 | opcode])
    if n < 126:
        head += bytes([0x80 | n])
    elif n < 65536:
        head += bytes([0x80 | 126]) + struct.pack(">H", n)
    else:
        head += bytes([0x80 | 127]) + struct.pack(">Q", n)
    return head + key + bytes(b ^ key[i & 3] for i, b in enumerate(payload))


class Closed(Exception):
    pass


class Envelope:
    """One ws or tcp connection carrying envelopes; reads one message at a time."""

    def __init__(self, protocol, port, timeout=10.0):
        self.protocol = protocol
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = bytearray()
        if protocol == "ws":
            key = base64.b64encode(os.urandom(16))
            self.sock.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                              b"Sec-WebSocket-Key: " + key + b"\r\nSec-WebSocket-Version: 13\r\n\r\n")
            while b"\r\n\r\n" not in self.buf:
                self._fill()
            head, _, rest = bytes(self.buf).partition(b"\r\n\r\n")
            if not head.startswith(b"HTTP/1.1 101"):
                raise Closed(f"upgrade refused: {head[:80]!r}")
            self.buf = bytearray(rest)

    def _fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise Closed("closed by the server")
        self.buf += chunk

    def send(self, message):
        data = json.dumps(message).encode()
        self.sock.sendall(ws_frame(1, data) if self.protocol == "ws" else struct.pack(">I", len(data)) + data)

    def receive(self):
        while True:
            if self.protocol == "tcp":
                if len(self.buf) >= 4:
                    n = struct.unpack(">I", bytes(self.buf[:4]))[0]
                    if len(self.buf) >= 4 + n:
                        payload = bytes(self.buf[4:4 + n])
                        del self.buf[:4 + n]
                        return json.loads(payload)
            elif len(self.buf) >= 2:
                b0, b1 = self.buf[0], self.buf[1]
                n, j = b1 & 0x7F, 2
                if n == 126 and len(self.buf) >= 4:
                    n, j = struct.unpack(">H", bytes(self.buf[2:4]))[0], 4
                elif n == 127 and len(self.buf) >= 10:
                    n, j = struct.unpack(">Q", bytes(self.buf[2:10]))[0], 10
                if (b1 & 0x7F) < 126 or j > 2:
                    if len(self.buf) >= j + n:
                        payload = bytes(self.buf[j:j + n])
                        del self.buf[:j + n]
                        opcode = b0 & 0x0F
                        if opcode == 8:
                            raise Closed("close frame %s" % (payload[:2].hex()))
                        if opcode == 9:
                            self.sock.sendall(ws_frame(10, payload))
                            continue
                        if opcode == 1:
                            return json.loads(payload)
                        continue
            self._fill()

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def envelope_client(protocol, port, counters, stop, seed):
    rng = random.Random(seed)
    conn = None
    ident = 0
    while not stop.is_set():
        try:
            if conn is None:
                conn = Envelope(protocol, port)
                counters.add(protocol, "connections")
            ident += 1
            kind = rng.random()
            if kind < 0.05:
                conn.send({"id": ident, "type": "stream", "endpoint": "hello.ticker", "payload": {"count": 5, "intervalMs": 0}})
                items = 0
                while True:
                    message = conn.receive()
                    if message.get("type") == "item":
                        items += 1
                        continue
                    break
                if message.get("type") == "end" and items == 5:
                    counters.add(protocol, "ok")
                else:
                    counters.error(protocol, f"ticker: {items} items, then {message}")
                continue
            if kind < 0.15:
                endpoint, payload = "greet", {"name": "soak"}
            elif kind < 0.2:
                endpoint, payload = "hello.echo", {"blob": "x" * 1024}
            else:
                endpoint, payload = "hello", {}
            conn.send({"id": ident, "endpoint": endpoint, "payload": payload})
            message = conn.receive()
            if message.get("type") == "result" and message.get("id") == ident:
                counters.add(protocol, "ok")
            elif message.get("type") == "error" and (message.get("error") or {}).get("code") == "unavailable":
                # A transport being reloaded asks its clients to reconnect.
                counters.add(protocol, "unavailable")
                conn.close()
                conn = None
            else:
                counters.error(protocol, f"{endpoint}: {str(message)[:200]}")
        except (OSError, Closed, ValueError) as error:
            if stop.is_set():
                break
            counters.add(protocol, "reconnects")
            if conn is not None:
                # The connection ended under a call: a transport that reloads closes its idle connections
                # (ws: 1001), and a call crossing that close is the client's to retry.
                counters.error(protocol, f"connection lost under a call: {error}", key="interrupted")
                conn.close()
            conn = None
            stop.wait(0.2)
    if conn is not None:
        conn.close()


def http_request(port, method, path, body=None, timeout=10.0, sock=None, closing=None):
    """(status, body); a fresh connection unless `sock` is given (keep-alive).
    `closing` (a list) gets True appended when the server said `connection: close`."""
    own = sock is None
    if own:
        sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        data = body or b""
        sock.sendall(b"%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: %d\r\n%s\r\n"
                     % (method.encode(), path.encode(), len(data), b"Connection: close\r\n" if own else b"") + data)
        buf = bytearray()
        while True:
            end = buf.find(b"\r\n\r\n")
            if end >= 0:
                head = bytes(buf[:end]).decode("latin-1").lower()
                length = 0
                for line in head.split("\r\n"):
                    if line.startswith("content-length:"):
                        length = int(line.split(":", 1)[1])
                    elif line.startswith("connection:") and "close" in line and closing is not None:
                        closing.append(True)
                if len(buf) >= end + 4 + length:
                    return int(head.split(" ", 2)[1]), bytes(buf[end + 4:end + 4 + length])
            chunk = sock.recv(65536)
            if not chunk:
                raise Closed("closed by the server")
            buf += chunk
    finally:
        if own:
            sock.close()


def http_client(port, counters, stop):
    sock = None
    while not stop.is_set():
        try:
            if sock is None:
                sock = socket.create_connection(("127.0.0.1", port), timeout=10.0)
                counters.add("http", "connections")
            closing = []
            status, body = http_request(port, "POST", "/api/hello", b"{}", sock=sock, closing=closing)
            if status == 200:
                counters.add("http", "ok")
            else:
                counters.error("http", f"{status} {body[:200]!r}")
            if closing:
                # A reloading http transport asks its clients to reconnect.
                sock.close()
                sock = None
        except (OSError, Closed, ValueError) as error:
            if sock is not None:
                sock.close()
                counters.add("http", "reconnects")
            sock = None
            if not stop.is_set():
                counters.error("http", f"connection lost under a call: {error}", key="interrupted")
                stop.wait(0.2)


class Admin:
    def __init__(self, path):
        self.path = path

    def call(self, endpoint, body, timeout=10.0):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(timeout)
        try:
            sock.connect(self.path)
            sock.sendall(json.dumps({"id": 1, "op": "call", "args": {"endpoint": endpoint, "body": json.dumps(body)}}).encode() + b"\n")
            buf = bytearray()
            while b"\n" not in buf:
                chunk = sock.recv(65536)
                if not chunk:
                    raise Closed("admin socket closed")
                buf += chunk
            answer = json.loads(buf.split(b"\n", 1)[0])
            if not answer.get("ok"):
                return False, answer.get("error")
            return True, json.loads(answer["result"]["body"] or "null")
        finally:
            sock.close()


class Writer:
    """Writes that must survive the soak: storage keys and, with pubsub, events."""

    def __init__(self, args, counters, run_id):
        self.args = args
        self.counters = counters
        self.admin = Admin(args.socket)
        self.run_id = run_id
        self.kv = {}
        self.events = {}
        self.rng = random.Random(run_id)

    def run(self, stop):
        n = 0
        interval = 1.0 / max(0.1, self.args.write_rate)
        while not stop.wait(interval):
            n += 1
            key = "soak-%s-%d" % (self.run_id, n % 5000)  # some keys are written again: the last value must win
            value = "v%d-%s" % (n, "".join(self.rng.choice("abc\u00e9\U0001F600 \"\\") for _ in range(self.rng.randint(0, 64))))
            try:
                ok, answer = self.admin.call("storage.kv.put", {"namespace": "shared.soak", "key": key, "value": value})
                if ok and isinstance(answer, dict) and answer.get("value") == value:
                    self.kv[key] = value
                    self.counters.add("writes", "ok")
                else:
                    self.counters.error("writes", f"kv put {key}: {answer}")
            except (OSError, Closed, ValueError) as error:
                self.counters.error("writes", f"kv put {key}: {error}")
            if self.args.pubsub:
                payload = {"run": self.run_id, "n": n}
                try:
                    status, body = http_request(self.args.http, "POST", "/events",
                                                json.dumps({"topic": "soak.%s" % self.run_id, "payload": payload}).encode())
                    result = json.loads(body) if status == 200 else None
                    if isinstance(result, dict) and isinstance(result.get("offset"), int):
                        self.events[result["offset"]] = payload
                        self.counters.add("writes", "ok")
                    else:
                        self.counters.error("writes", f"publish: {status} {body[:200]!r}")
                except (OSError, Closed, ValueError) as error:
                    self.counters.error("writes", f"publish: {error}")

    def verify(self):
        lost = []
        for key, value in sorted(self.kv.items()):
            try:
                ok, answer = self.admin.call("storage.kv.get", {"namespace": "shared.soak", "key": key})
            except (OSError, Closed, ValueError) as error:
                ok, answer = False, str(error)
            if not ok or not isinstance(answer, dict) or answer.get("value") != value:
                lost.append({"key": key, "expected": value, "got": str(answer)[:200]})
        if self.events:
            seen = {}
            since = min(self.events) - 1
            while True:
                status, body = http_request(self.args.http, "GET",
                                            "/events?since=%d&topics=soak.%s&limit=1000" % (since, self.run_id))
                if status != 200:
                    lost.append({"events": f"GET /events answered {status}"})
                    break
                batch = json.loads(body)
                if not batch:
                    break
                for event in batch:
                    seen[event["offset"]] = event.get("payload")
                since = batch[-1]["offset"]
            for offset, payload in sorted(self.events.items()):
                if seen.get(offset) != payload:
                    lost.append({"offset": offset, "expected": payload, "got": seen.get(offset)})
        return lost


_wrk_last = {}


def wrk_served(prefix):
    """Answers wrk's threads counted so far (its Lua script writes them to files).
    A file caught while it is rewritten counts as its last value read, not as 0."""
    total = 0
    for path in glob.glob(prefix + "-thread-*"):
        try:
            with open(path) as f:
                _wrk_last[path] = int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            pass
        total += _wrk_last.get(path, 0)
    return total


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--http", type=int, required=True)
    parser.add_argument("--ws", type=int, required=True)
    parser.add_argument("--tcp", type=int, required=True)
    parser.add_argument("--socket", required=True)
    parser.add_argument("--pid", type=int, required=True)
    parser.add_argument("--kernelctl", required=True)
    parser.add_argument("--seconds", type=float, required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--ws-clients", type=int, default=2)
    parser.add_argument("--tcp-clients", type=int, default=2)
    parser.add_argument("--http-clients", type=int, default=0)
    parser.add_argument("--reload", default="hello", help="plugins reloaded in turn, comma-separated")
    parser.add_argument("--reload-every", type=float, default=30.0)
    parser.add_argument("--sample-every", type=float, default=10.0)
    parser.add_argument("--write-rate", type=float, default=20.0, help="write rounds per second")
    parser.add_argument("--pubsub", action="store_true", help="also publish events over http")
    parser.add_argument("--wrk-prefix", default="", help="prefix of wrk's counter files")
    args = parser.parse_args()

    counters = Counters()
    stop = threading.Event()
    run_id = "%08x" % random.SystemRandom().getrandbits(32)
    threads = []
    for i in range(args.ws_clients):
        threads.append(threading.Thread(target=envelope_client, args=("ws", args.ws, counters, stop, i), daemon=True))
    for i in range(args.tcp_clients):
        threads.append(threading.Thread(target=envelope_client, args=("tcp", args.tcp, counters, stop, 100 + i), daemon=True))
    for _ in range(args.http_clients):
        threads.append(threading.Thread(target=http_client, args=(args.http, counters, stop), daemon=True))
    writer = Writer(args, counters, run_id)
    threads.append(threading.Thread(target=writer.run, args=(stop,), daemon=True))
    for thread in threads:
        thread.start()

    plugins = [p for p in args.reload.split(",") if p]
    reloads = collections.Counter()
    reload_errors = []
    samples = []
    csv_path = os.path.join(args.out, "samples.csv")
    started = now()
    next_sample = started
    next_reload = started + args.reload_every
    died = False
    with open(csv_path, "w") as csv:
        csv.write("seconds,rss_mib,fds,requests_served\n")
        while True:
            t = now()
            if not alive(args.pid):
                died = True
                say(f"the kernel died after {t - started:.0f} s")
                break
            if t >= next_sample:
                served = counters.served() + (wrk_served(args.wrk_prefix) if args.wrk_prefix else 0)
                sample = (round(t - started), round(rss_kib(args.pid) / 1024, 1), fd_count(args.pid), served)
                samples.append(sample)
                csv.write("%d,%.1f,%d,%d\n" % sample)
                csv.flush()
                next_sample += args.sample_every
            if t >= started + args.seconds:
                break
            if plugins and t >= next_reload:
                plugin = plugins[reloads["attempted"] % len(plugins)]
                reloads["attempted"] += 1
                began = now()
                try:
                    result = subprocess.run([args.kernelctl, "--socket", args.socket, "reload", plugin],
                                            capture_output=True, text=True, timeout=120)
                    if result.returncode == 0:
                        reloads["ok"] += 1
                        reloads["seconds_total_ms"] += int((now() - began) * 1000)
                    else:
                        reloads["failed"] += 1
                        reload_errors.append(f"{plugin}: {result.stderr.strip()[:200]}")
                except subprocess.TimeoutExpired:
                    reloads["failed"] += 1
                    reload_errors.append(f"{plugin}: kernelctl reload did not return within 120 s")
                next_reload += args.reload_every
            time.sleep(max(0.05, min(next_sample, next_reload, started + args.seconds) - now()))
    stop.set()
    for thread in threads:
        thread.join(timeout=15.0)

    lost = [] if died else writer.verify()
    summary = {
        "kernel_died": died,
        "seconds": round(now() - started, 1),
        "counts": {group: dict(counter) for group, counter in counters.counts.items()},
        "errors": dict(counters.errors),
        "reloads": dict(reloads),
        "reload_errors": reload_errors[:10],
        "writes": {"kv_keys": len(writer.kv), "events": len(writer.events), "lost": len(lost), "lost_sample": lost[:5]},
        "start": {"rss_mib": samples[0][1], "fds": samples[0][2]} if samples else None,
        "end": {"rss_mib": samples[-1][1], "fds": samples[-1][2]} if samples else None,
        "samples_csv": csv_path,
    }
    with open(os.path.join(args.out, "summary.json"), "w") as f:
        json.dump(summary, f, indent=1)

    print("%8s %9s %6s %16s %10s" % ("time s", "RSS MiB", "fds", "requests served", "req/s"))
    previous = None
    for sample in samples:
        rate = ""
        if previous and sample[0] > previous[0]:
            rate = "%.0f" % ((sample[3] - previous[3]) / (sample[0] - previous[0]))
        print("%8d %9.1f %6d %16d %10s" % (sample + (rate,)))
        previous = sample
    if samples:
        print(f"start: RSS {samples[0][1]} MiB, {samples[0][2]} fds; end: RSS {samples[-1][1]} MiB, {samples[-1][2]} fds")
    for group in ("http", "ws", "tcp", "writes"):
        counts = counters.counts.get(group)
        if counts:
            print(f"{group}: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
            for error in counters.errors.get(group, [])[:3]:
                print(f"  e.g. {error}")
    print(f"reloads: {reloads['ok']} ok, {reloads['failed']} failed"
          + (f", {reloads['seconds_total_ms'] // max(1, reloads['ok'])} ms each on average" if reloads["ok"] else ""))
    for error in reload_errors[:3]:
        print(f"  e.g. {error}")
    if died:
        print("writes: not verified, the kernel died")
    else:
        print(f"writes: {len(writer.kv)} keys and {len(writer.events)} events acknowledged; "
              + ("all read back" if not lost else f"{len(lost)} LOST, e.g. {lost[:3]}"))
    return 1 if died or lost else 0


if __name__ == "__main__":
    sys.exit(main())

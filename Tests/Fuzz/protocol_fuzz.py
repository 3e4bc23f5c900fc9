#!/usr/bin/env python3
"""Protocol fuzzer for a running kernel: HTTP, WebSocket, TCP framing and the
admin socket (Protocols/http-transport.md, ws-envelope.md, tcp-framing.md,
admin-protocol.md).

Sends random and mutated requests, frames and envelopes, slow (slowloris) and
half-open connections, interleaved with real writes that must survive:
key-value puts through the storage plugin's operator endpoints (admin socket:
they refuse every other protocol) and, when pubsub is loaded, event publishes
over HTTP, WebSocket and TCP. Then checks that the kernel is alive and serving
on every protocol, every acknowledged write reads back, no call or stream is
left in flight, and its descriptors and memory came back.

    python3 Tests/Fuzz/protocol_fuzz.py --http 127.0.0.1:8080 --ws 127.0.0.1:8082 \\
        --tcp 127.0.0.1:8081 --socket data/kernel.sock --pid 4242 --cases 3000 --seconds 60 --seed 1

Ports and pid missing from the arguments are read from the admin `status`.
Exit status 0 only if every check passed; a JSON summary goes to stdout,
progress and findings to stderr. Loopback only; every socket operation has a
timeout, and a watchdog ends the run if it ever overstays.
"""

import argparse
import base64
import collections
import hashlib
import ipaddress
import json
import os
import random
import re
import socket
import struct
import sys
import threading
import time
import zlib

WS_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
MAX_READ = 4 << 20          # a case stops reading past this (a stream it started, say)
SENTINEL_HTTP_BODY = b'{"status":"ok"}'
ERROR_CODES = ["invalid_argument", "not_found", "validation", "conflict", "unauthorized", "forbidden",
               "rate_limited", "too_large", "timeout", "unavailable", "cancelled", "internal",
               "method_not_allowed", "nope", "", "INTERNAL"]


def now():
    return time.monotonic()


def say(message):
    print(f"[fuzz] {message}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------
# Bookkeeping


class Stats:
    """Counters per category, findings (answers worth a look) and the last
    cases sent (the suspects when the kernel dies). Any thread."""

    def __init__(self):
        self.lock = threading.Lock()
        self.counts = collections.defaultdict(collections.Counter)
        self.findings = []
        self.finding_kinds = collections.Counter()
        self.recent = collections.deque(maxlen=40)
        self.case_number = 0

    def add(self, category, key, n=1):
        with self.lock:
            self.counts[category][key] += n

    def note(self, kind, category, detail, data=b""):
        with self.lock:
            self.finding_kinds[kind] += 1
            # The first few of each kind are enough to reproduce.
            first = self.finding_kinds[kind] <= 5
            if first and len(self.findings) < 60:
                self.findings.append({"kind": kind, "category": category, "detail": detail,
                                      "case": self.case_number, "data_b64": b64(data[:4096]), "size": len(data)})
        if first:
            say(f"finding [{kind}] {category}: {detail}")

    def sent(self, category, name, target, data):
        with self.lock:
            self.case_number += 1
            self.counts[category]["cases"] += 1
            self.counts[category]["case:" + name] += 1
            self.recent.append({"n": self.case_number, "category": category, "name": name, "target": target,
                                "at": round(now(), 3), "size": len(data), "data_b64": b64(data[:8192])})

    def suspects(self, count=12):
        with self.lock:
            return list(self.recent)[-count:]


DEEP = object()   # JSON nested deeper than Python's recursion limit (an echo of a deep payload)


def loads(payload):
    """Parsed JSON, DEEP, or None when it is not JSON."""
    try:
        return json.loads(payload)
    except RecursionError:
        return DEEP
    except ValueError:
        return None


def b64(data):
    return base64.b64encode(bytes(data)).decode()


# --------------------------------------------------------------------------
# Sockets


class Conn:
    """One client connection with timeouts everywhere; remembers how the
    server ended it (an orderly close or a reset)."""

    def __init__(self, addr, stats, category, timeout=3.0):
        self.stats = stats
        self.category = category
        self.buf = bytearray()
        self.peer_end = None
        self.sock = socket.create_connection(addr, timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        stats.add(category, "connections")

    def _ended(self, how):
        if self.peer_end is None:
            self.peer_end = how
            self.stats.add(self.category, "server_closed" if how == "eof" else "server_reset")

    def send(self, data, timeout=3.0):
        if self.peer_end:
            return False
        try:
            self.sock.settimeout(timeout)
            self.sock.sendall(data)
            return True
        except socket.timeout:
            self.stats.add(self.category, "send_blocked")
            return False
        except OSError:
            self._ended("reset")
            return False

    def read(self, deadline, done=None):
        """Reads until done(buf), the server's end or the deadline:
        'done', 'eof', 'reset', 'timeout' or 'full'."""
        while True:
            if done is not None and done(self.buf):
                return "done"
            if self.peer_end:
                return self.peer_end
            left = deadline - now()
            if left <= 0:
                return "timeout"
            if len(self.buf) >= MAX_READ:
                return "full"
            try:
                self.sock.settimeout(left)
                chunk = self.sock.recv(65536)
            except socket.timeout:
                return "timeout"
            except OSError:
                self._ended("reset")
                continue
            if not chunk:
                self._ended("eof")
                continue
            self.buf += chunk

    def shutdown_write(self):
        try:
            self.sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    def close(self, reset=False):
        try:
            if reset:
                # SO_LINGER 0: close sends RST instead of FIN.
                self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.sock.close()
        except OSError:
            pass


class Lingering:
    """Connections left open on purpose (silent, half a request, an upgrade
    never used), so the kernel holds many at once; bounded, oldest closed first."""

    def __init__(self, limit):
        self.limit = limit
        self.conns = collections.deque()

    def keep(self, conn, rng):
        self.conns.append(conn)
        while len(self.conns) > self.limit:
            self.conns.popleft().close(reset=rng.random() < 0.3)

    def close_all(self):
        while self.conns:
            self.conns.popleft().close()


# --------------------------------------------------------------------------
# Wire formats


def ws_frame(opcode, payload=b"", fin=True, rsv=0, mask=True, key=None, length=None, form=None):
    """A client frame. `length` declares a length other than the payload's;
    `form` forces the 7/16/64-bit length encoding (non-minimal ones included)."""
    n = len(payload) if length is None else length
    head = bytearray([(0x80 if fin else 0) | ((rsv & 7) << 4) | (opcode & 0x0F)])
    bit = 0x80 if mask else 0
    if form is None:
        form = 7 if n < 126 else 16 if n < 65536 else 64
    if form == 7:
        head.append(bit | (n & 0x7F))
    elif form == 16:
        head.append(bit | 126)
        head += struct.pack(">H", n & 0xFFFF)
    else:
        head.append(bit | 127)
        head += struct.pack(">Q", n & 0xFFFFFFFFFFFFFFFF)
    if not mask:
        return bytes(head) + payload
    key = key or os.urandom(4)
    return bytes(head) + key + bytes(b ^ key[i & 3] for i, b in enumerate(payload))


def ws_parse(buf):
    """Complete server frames at the start of buf: [(fin, rsv, opcode, payload, masked)]."""
    frames = []
    i = 0
    size = len(buf)
    while size - i >= 2:
        b0, b1 = buf[i], buf[i + 1]
        n = b1 & 0x7F
        j = i + 2
        if n == 126:
            if size - j < 2:
                break
            n = struct.unpack(">H", bytes(buf[j:j + 2]))[0]
            j += 2
        elif n == 127:
            if size - j < 8:
                break
            n = struct.unpack(">Q", bytes(buf[j:j + 8]))[0]
            j += 8
        masked = bool(b1 & 0x80)
        if masked:
            j += 4
        if size < j + n:
            break
        frames.append((b0 >> 7, (b0 >> 4) & 7, b0 & 0x0F, bytes(buf[j:j + n]), masked))
        i = j + n
    return frames


def tcp_frame(payload, length=None):
    return struct.pack(">I", (len(payload) if length is None else length) & 0xFFFFFFFF) + payload


def tcp_parse(buf):
    frames = []
    i = 0
    while len(buf) - i >= 4:
        n = struct.unpack(">I", bytes(buf[i:i + 4]))[0]
        if len(buf) - i - 4 < n:
            break
        frames.append(bytes(buf[i + 4:i + 4 + n]))
        i += 4 + n
    return frames


STATUS_LINE = re.compile(rb"(?:^|\r\n|\n)HTTP/\d\.\d (\d{3})")


def http_statuses(buf):
    return [int(m.group(1)) for m in STATUS_LINE.finditer(bytes(buf))]


def http_response(buf):
    """(status, headers, body) of the first complete response, or None."""
    end = buf.find(b"\r\n\r\n")
    if end < 0:
        return None
    lines = bytes(buf[:end]).decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    try:
        status = int(parts[1])
    except (IndexError, ValueError):
        return (-1, {}, b"")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    body_start = end + 4
    if "content-length" in headers:
        try:
            n = int(headers["content-length"])
        except ValueError:
            return (status, headers, b"")
        if len(buf) < body_start + n:
            return None
        return (status, headers, bytes(buf[body_start:body_start + n]))
    if "chunked" in headers.get("transfer-encoding", "").lower():
        body = bytearray()
        i = body_start
        while True:
            line_end = buf.find(b"\r\n", i)
            if line_end < 0:
                return None
            try:
                n = int(bytes(buf[i:line_end]).split(b";")[0], 16)
            except ValueError:
                return (status, headers, bytes(body))
            if n == 0:
                return (status, headers, bytes(body))
            if len(buf) < line_end + 2 + n + 2:
                return None
            body += buf[line_end + 2:line_end + 2 + n]
            i = line_end + 2 + n + 2
    return (status, headers, bytes(buf[body_start:]))


# --------------------------------------------------------------------------
# Random values


def rand_text(rng, limit=24):
    alphabet = ["a", "b", "z", "0", "9", " ", "-", "_", ".", "/", "\\", '"', "'", "\n", "\t", "%", "\u00e9",
                "\u4e2d", "\U0001F600", "\u202e", "\ufeff", "\x7f", "<", ">", "&", "{", "}", ":"]
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(0, limit)))


def rand_json_value(rng, depth=0):
    kind = rng.randint(0, 9 if depth < 3 else 5)
    if kind == 0:
        return None
    if kind == 1:
        return rng.choice([True, False])
    if kind == 2:
        return rng.choice([0, -1, 1, 2 ** 31, 2 ** 53 + 1, 2 ** 63, -2 ** 63 - 1, 10 ** 30, rng.randint(-1000, 1000)])
    if kind == 3:
        return rng.choice([0.5, -0.0, 1e308, 1e-308, 3.14159])
    if kind in (4, 5):
        return rand_text(rng)
    if kind in (6, 7):
        return [rand_json_value(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    return {rand_text(rng, 8): rand_json_value(rng, depth + 1) for _ in range(rng.randint(0, 4))}


def garbage_json(rng):
    """Bytes that are not JSON, or JSON a decoder may choke on."""
    choice = rng.randint(0, 17)
    if choice == 0:
        return bytes(rng.randint(0, 255) for _ in range(rng.randint(0, 64)))
    if choice == 1:
        depth = rng.choice([100, 1000, 10000, 100000])
        return b"[" * depth + b"]" * depth
    if choice == 2:
        depth = rng.choice([100, 1000, 10000, 100000])
        return b'{"a":' * depth + b"1" + b"}" * depth
    if choice == 3:
        return b'{"name":"\xff\xfe\xc0\x80"}'
    if choice == 4:
        return b'{"name":"\\ud800"}'
    if choice == 5:
        return b'{"name":"x",}'
    if choice == 6:
        return b"{'name':'x'}"
    if choice == 7:
        return b'{"count":1e999,"intervalMs":NaN}'
    if choice == 8:
        return b'\xef\xbb\xbf{"name":"bom"}'
    if choice == 9:
        return b'{"name":"a\x00b"}'
    if choice == 10:
        return b'{"name":' + b'"' + b"x" * rng.choice([1000, 70000, 300000]) + b'"}'
    if choice == 11:
        return b'{"name":"x"' * rng.randint(2, 50)
    if choice == 12:
        return b'{"name":"x","name":"y","name":' + b"[" * 50 + b"]" * 50 + b"}"
    if choice == 13:
        return b'{"count":-99999999999999999999999,"intervalMs":-1,"padding":99999999999}'
    if choice == 14:
        return json.dumps(rand_json_value(rng)).encode()
    if choice == 15:
        return b'{"name":"\\u0000\\uDFFF\\uD800\\uDC00"}'
    if choice == 16:
        return b"null"
    return json.dumps(rand_json_value(rng))[:rng.randint(0, 30)].encode()


def mutate_bytes(rng, data, rounds=None):
    data = bytearray(data)
    for _ in range(rounds or rng.randint(1, 4)):
        op = rng.randint(0, 5)
        pos = rng.randint(0, len(data)) if data else 0
        if op == 0 and data:
            data[min(pos, len(data) - 1)] ^= 1 << rng.randint(0, 7)
        elif op == 1:
            data[pos:pos] = rng.choice([b"\x00", b"\r", b"\n", b"\r\n", b" ", b":", b"\xff", b"%", b"\t", b"\x80",
                                        b'"', b"{", b"}", bytes([rng.randint(0, 255)])])
        elif op == 2 and data:
            del data[pos:pos + rng.randint(1, 16)]
        elif op == 3 and data:
            end = min(len(data), pos + rng.randint(1, 32))
            data[pos:pos] = data[pos:end] * rng.randint(1, 8)
        elif op == 4 and data:
            data[min(pos, len(data) - 1)] = rng.randint(0, 255)
        else:
            data[pos:pos] = bytes(rng.randint(0, 255) for _ in range(rng.randint(1, 8)))
    return bytes(data)


# --------------------------------------------------------------------------
# HTTP requests


class Req:
    def __init__(self, method, target, headers, body=b"", version=b"HTTP/1.1"):
        self.method = method
        self.target = target
        self.version = version
        self.headers = headers
        self.body = body
        self.eol = b"\r\n"
        self.separator = b": "

    def set(self, name, value):
        lower = name.lower()
        self.headers = [(n, v) for (n, v) in self.headers if n.lower() != lower] + [(name, value)]

    def render(self):
        out = bytearray(self.method + b" " + self.target + b" " + self.version + self.eol)
        for name, value in self.headers:
            out += name + self.separator + value + self.eol
        out += self.eol
        out += self.body
        return bytes(out)


def chunked(rng, body):
    out = bytearray()
    i = 0
    while i < len(body):
        n = rng.randint(1, max(1, len(body) - i))
        out += b"%x\r\n" % n + body[i:i + n] + b"\r\n"
        i += n
    return bytes(out + b"0\r\n\r\n")


class Target:
    """What the kernel serves: endpoints and routes (from the admin socket)."""

    def __init__(self, endpoints, routes):
        self.endpoints = endpoints
        self.routes = routes
        self.has_hello = "hello" in endpoints
        self.has_pubsub = "pubsub.publish" in endpoints
        # Endpoints that never end by themselves are only started in cases that close the connection.
        self.endless = {"pubsub.stream", "pubsub.subscribe"}


def json_body(rng, endpoint):
    if endpoint == "greet":
        return json.dumps({"name": rng.choice(["ada", "", rand_text(rng, 40)])}).encode()
    if endpoint == "hello.ticker":
        return json.dumps({"count": rng.randint(0, 4), "intervalMs": rng.randint(0, 10),
                           "padding": rng.choice([0, 10, 1000])}).encode()
    if endpoint == "hello.fail":
        return json.dumps({"code": rng.choice(ERROR_CODES)}).encode()
    if endpoint == "hello.chat":
        return json.dumps({"name": rand_text(rng, 10)}).encode()
    if endpoint == "pubsub.publish":
        return json.dumps({"topic": rng.choice(["fuzz.junk", "", "a..b", "#", "x" * 300, rand_text(rng, 12)]),
                           "payload": rand_json_value(rng)}).encode()
    return json.dumps(rand_json_value(rng)).encode()


def quote(name):
    """An endpoint name as a request-target path segment (percent-encoded UTF-8)."""
    return "".join(c if c.isascii() and (c.isalnum() or c in "-._~") else
                   "".join("%%%02X" % b for b in c.encode("utf-8")) for c in name).encode()


def pick_endpoint(rng, target):
    if target.endpoints and rng.random() < 0.8:
        return rng.choice(target.endpoints)
    return rng.choice(["no.such.endpoint", "", ".", "hello.", "HELLO", "hello/../hello", "a" * 600, "hello%00",
                       "storage.kv.put", "\u00e9t\u00e9", "hello hello"])


def http_valid(rng, target, host):
    """A valid request (by HTTP; the call may still fail) and a label."""
    headers = [(b"Host", host)]
    kind = rng.choice(["hello", "greet", "echo", "healthz", "healthz", "user", "ticker", "any", "any", "any",
                       "method", "preflight", "events", "fail", "route"])
    body = b""
    method = b"POST"
    if kind == "hello":
        path, body = b"/api/hello", b"{}"
    elif kind == "greet":
        path, body = b"/api/greet", json_body(rng, "greet")
    elif kind == "echo":
        path, body = b"/api/hello.echo", json.dumps(rand_json_value(rng)).encode()
    elif kind == "healthz":
        method, path = rng.choice([b"GET", b"GET", b"HEAD"]), b"/healthz"
    elif kind == "user":
        method = b"GET"
        path = b"/hello/users/" + rng.choice([b"42", b"a%20b", b"%ff%fe", b"%00", b"%zz", b"%", b"%e2%82%ac",
                                              b"..", b"a/b", b"x" * rng.randint(1, 3000), b"%C3%A9t%C3%A9",
                                              b"42?x=1&y=%00", b"", b";", b"%2F"])
    elif kind == "ticker":
        path, body = b"/api/hello.ticker", json_body(rng, "hello.ticker")
        headers.append((b"Accept", rng.choice([b"text/event-stream", b"application/x-ndjson", b"*/*"])))
    elif kind == "fail":
        path, body = b"/api/hello.fail", json_body(rng, "hello.fail")
    elif kind == "method":
        method = rng.choice([b"GET", b"PUT", b"DELETE", b"PATCH", b"HEAD", b"TRACE", b"OPTIONS"])
        path = b"/api/hello"
    elif kind == "preflight":
        method, path = b"OPTIONS", b"/api/" + quote(pick_endpoint(rng, target))
        headers += [(b"Origin", b"http://example.com"),
                    (b"Access-Control-Request-Method", rng.choice([b"POST", b"GET", b"DELETE", b""]))]
    elif kind == "events":
        method = b"GET"
        query = rng.choice([b"since=0&limit=3", b"since=-1", b"since=abc", b"limit=99999999999", b"topics=%23&limit=2",
                            b"since=2026-01-01T00:00:00Z&limit=1", b"wait=1ms&since=999999999", b"topics=,,,&since=0"])
        path = b"/events?" + query
    elif kind == "route" and target.routes:
        route_method, route_path = rng.choice(target.routes)
        method = rng.choice([route_method.encode(), b"GET", b"POST", b"DELETE"])
        segments = [rng.choice([b"1", b"%41", b"x" * 50, b"%ff"]) if s.startswith(":") or s == "*" else s.encode()
                    for s in route_path.strip("/").split("/")]
        path = b"/" + b"/".join(segments)
        if method == b"POST":
            body = json.dumps(rand_json_value(rng)).encode()
    else:
        endpoint = pick_endpoint(rng, target)
        if endpoint in target.endless:
            endpoint = "hello"
        path, body = b"/api/" + quote(endpoint), json_body(rng, endpoint)
        kind = "any:" + endpoint[:40]
    if rng.random() < 0.1:
        headers.append((b"X-Deny", b"1"))
    if rng.random() < 0.1:
        headers.append((b"Connection", rng.choice([b"close", b"keep-alive", b"Upgrade"])))
    if body or method == b"POST":
        headers.append((b"Content-Type", rng.choice([b"application/json", b"application/json", b"text/plain",
                                                     b"application/json; charset=utf-8", b""])))
        headers.append((b"Content-Length", str(len(body)).encode()))
    return Req(method, path, headers, body), kind


def http_mutate(rng, req, limits):
    """One structural mutation; returns its name."""
    op = rng.choice(["method", "target", "version", "header_name", "header_value", "content_length", "content_length",
                     "duplicate_cl", "chunked", "chunked_bad", "chunked_bad", "te_and_cl", "eol", "many_headers",
                     "long_line", "expect", "body", "host", "upgrade", "nul", "accept_encoding", "conditional"])
    if op == "method":
        req.method = rng.choice([b"FOO", b"get", b"P0ST", b"", b"X" * rng.randint(1, 300), b"GET\x00", b"\xff\xfe", b"CONNECT",
                                 b"PRI", b"POST POST", b"\tPOST", bytes(rng.randint(33, 126) for _ in range(5))])
    elif op == "target":
        req.target = rng.choice([b"*", b"http://127.0.0.1/api/hello", b"//api/hello", b"/api/", b"/api", b"/api/%00",
                                 b"/api/hello%", b"/hello/users/%ff%fe", b"", b"/ api/hello", b"/api/hello#x",
                                 b"/" + b"a/" * rng.randint(1, 4000), b"/api/hello?" + b"q" * rng.randint(1, 20000),
                                 b"/../../etc/passwd", b"/api/hello\x00x", b"/api/\xff\xfe",
                                 b"127.0.0.1:80", b"/healthz/", b"/HEALTHZ", b"/healthz?x", b"/healthz#"])
    elif op == "version":
        req.version = rng.choice([b"HTTP/1.0", b"HTTP/0.9", b"HTTP/2.0", b"HTTP/1.2", b"HTTP/1", b"http/1.1", b"",
                                  b"HTTP/1.1\x00", b"HTTP/9.9", b"HTTP/01.1", b"HTTP/1.10", b"HTTP/1.1 extra", b"HTTPS/1.1"])
    elif op == "header_name" and req.headers:
        i = rng.randrange(len(req.headers))
        name = rng.choice([b"", b" Host", b"Host ", b"Ho st", b"H\x00st", b"\xff\xfe", b"Content-Length\t",
                           b"content-LENGTH", b"X" * rng.randint(100, 20000), b"X-(a)", b"X:Y"])
        req.headers[i] = (name, req.headers[i][1])
    elif op == "header_value" and req.headers:
        i = rng.randrange(len(req.headers))
        value = rng.choice([b"a\x00b", b"a\rb", b"\xff\xfe\xfd", b"  padded  ", b"a\r\n b", b"a\r\n\tb", b"",
                            b"x" * rng.randint(100, 20000), b"\x7f", b"a\nb"])
        req.headers[i] = (req.headers[i][0], value)
    elif op == "content_length":
        n = len(req.body)
        req.set(b"Content-Length", rng.choice([
            str(n + rng.randint(1, 50)).encode(), str(max(0, n - rng.randint(1, 5))).encode(), b"-1", b"-0", b"+5",
            b"0x10", b"1e3", b" 5", b"5 5", str(2 ** 63).encode(), str(2 ** 64 + 1).encode(), b"9" * 30,
            str(limits["max_body"] + 1).encode(), b"", b"abc", b"00000000000000000000000001",
            str(2 ** 31).encode(), str(2 ** 63 - 1).encode()]))
    elif op == "duplicate_cl":
        n = len(req.body)
        req.headers.append((b"Content-Length", rng.choice([str(n).encode(), str(n + 1).encode(), b"0"])))
        if rng.random() < 0.5:
            req.headers.append((b"Content-Length", str(n).encode()))
    elif op == "chunked":
        req.set(b"Transfer-Encoding", b"chunked")
        req.headers = [(k, v) for (k, v) in req.headers if k.lower() != b"content-length"]
        req.body = chunked(rng, req.body or b"{}")
    elif op == "chunked_bad":
        req.set(b"Transfer-Encoding", rng.choice([b"chunked", b"Chunked", b"gzip, chunked", b"chunked, gzip",
                                                  b"identity", b"chunked\x00", b"x-chunked"]))
        req.headers = [(k, v) for (k, v) in req.headers if k.lower() != b"content-length"]
        body = req.body or b"{}"
        req.body = rng.choice([
            b"zz\r\n" + body + b"\r\n0\r\n\r\n",
            b"-1\r\n" + body + b"\r\n0\r\n\r\n",
            b"ffffffffffffffffff\r\n" + body + b"\r\n0\r\n\r\n",
            b"7fffffffffffffff\r\n" + body,
            b"%x\r\n" % (limits["max_body"] + 1) + body,
            b"%x\r\n" % (len(body) + 5) + body + b"\r\n0\r\n\r\n",
            b"%x\r\n" % max(0, len(body) - 1) + body + b"\r\n0\r\n\r\n",
            b"%x;ext=" % len(body) + b"e" * rng.randint(1, 20000) + b"\r\n" + body + b"\r\n0\r\n\r\n",
            b"%x\n" % len(body) + body + b"\n0\n\n",
            b"%x\r\n" % len(body) + body + b"\r\n0\r\nX-Trailer: 1\r\nContent-Length: 5\r\n\r\n",
            b"%x\r\n" % len(body) + body + b"\r\n",
            b"0\r\n\r\n" + body,
            b" %x \r\n" % len(body) + body + b"\r\n0\r\n\r\n",
            b"1\r\n{\r\n" * rng.randint(1, 3000) + b"0\r\n\r\n",
        ])
    elif op == "te_and_cl":
        req.set(b"Transfer-Encoding", b"chunked")
        req.headers.append((b"Content-Length", str(rng.randint(0, 40)).encode()))
        req.body = chunked(rng, req.body or b"{}")
    elif op == "eol":
        req.eol = rng.choice([b"\n", b"\r", b"\r\r\n", b"\n\r"])
    elif op == "many_headers":
        count = rng.choice([50, 200, 1000, 5000])
        req.headers += [(b"X-Fz-%d" % i, b"v") for i in range(count)]
    elif op == "long_line":
        req.headers.append((b"X-Long", b"y" * rng.choice([8000, 16000, 16384, 17000, 70000])))
    elif op == "expect":
        req.headers.append((b"Expect", rng.choice([b"100-continue", b"200-ok", b""])))
    elif op == "body":
        req.body = rng.choice([garbage_json(rng), b"x" * rng.choice([limits["max_body"], limits["max_body"] + 1])])
        req.set(b"Content-Length", str(len(req.body)).encode())
    elif op == "host":
        req.headers = [(k, v) for (k, v) in req.headers if k.lower() != b"host"]
        if rng.random() < 0.5:
            req.headers += [(b"Host", b"a"), (b"Host", b"b")]
    elif op == "upgrade":
        req.headers += [(b"Connection", b"Upgrade"), (b"Upgrade", rng.choice([b"websocket", b"h2c", b"foo"]))]
    elif op == "accept_encoding":
        # Answers past the transport's compression threshold are gzipped or deflated for the client's choice.
        req.headers.append((b"Accept-Encoding", rng.choice([
            b"gzip", b"deflate", b"gzip;q=0, deflate;q=0", b"*;q=nan", b"gzip;q=inf, deflate;q=-1", b"br", b", , ;",
            b"gzip;q=1e400", b"*", b"identity;q=0, *;q=0", b";q=0.5", b"x" * 9000, b"gzip;q=", b"deflate;q=0.9;q=0.1"])))
        if req.method == b"POST" and rng.random() < 0.5:
            req.target = b"/api/hello.echo"
            req.body = json.dumps({"t": "x" * rng.choice([100, 2000, 200000])}).encode()
            req.set(b"Content-Length", str(len(req.body)).encode())
    elif op == "conditional":
        req.headers.append(rng.choice([
            (b"If-None-Match", rng.choice([b"*", b'"x"', b'W/"x", "y"', b",,,", b"W/", b'"' * 500])),
            (b"If-Modified-Since", rng.choice([b"Sun, 06 Nov 1994 08:49:37 GMT", b"garbage", b"", b"Sun, 99 Nov 99999 99:99:99 GMT",
                                               b"\xff\xfe"]))]))
    elif op == "nul":
        req.separator = rng.choice([b":", b" : ", b":\x00", b"\t:\t", b"::"])
    return op


# --------------------------------------------------------------------------
# Envelopes (ws and tcp)


def envelope(rng, target, ids):
    """One client message for ws/tcp: mostly well-formed envelopes with odd
    fields, some garbage. Returns (bytes, label)."""
    kind = rng.choice(["call", "call", "call", "stream", "item", "end", "cancel", "ping", "subscribe", "unsubscribe",
                       "bad_type", "bad_id", "bad_meta", "garbage", "mutated", "deep", "dup_keys"])
    ident = rng.choice([next(ids), str(next(ids)), -next(ids), 0, "", "\u00e9\U0001F600", 10 ** 18, 9223372036854775807])
    if kind in ("call", "stream"):
        endpoint = pick_endpoint(rng, target)
        if endpoint in target.endless and rng.random() < 0.7:
            endpoint = "hello.ticker"
        message = {"type": kind, "id": ident, "endpoint": endpoint}
        if rng.random() < 0.85:
            message["payload"] = json.loads(json_body(rng, endpoint)) if endpoint != "" else None
        if rng.random() < 0.3:
            message["meta"] = {rand_text(rng, 6) or "k": rand_text(rng, 10) for _ in range(rng.randint(0, 3))}
        if rng.random() < 0.1:
            message["meta"] = {"x-deny": "1"}
        if kind == "call" and rng.random() < 0.5:
            del message["type"]
        return json.dumps(message).encode(), kind + ":" + endpoint
    if kind == "item":
        return json.dumps({"type": "item", "id": ident, "payload": {"text": rand_text(rng)}}).encode(), kind
    if kind in ("end", "cancel", "unsubscribe"):
        return json.dumps({"type": kind, "id": ident}).encode(), kind
    if kind == "ping":
        return json.dumps({"type": "ping", "id": rng.choice([ident, None, [1], {"a": 1}])}).encode(), kind
    if kind == "subscribe":
        message = {"type": "subscribe", "id": ident,
                   "patterns": rng.choice([["fuzz.#"], [], ["*"], [1], "x", ["a" * 500], ["#", "a.*.b", ""], None]),
                   "since": rng.choice([None, 0, -1, "2026-01-01T00:00:00Z", "yesterday", 1.5, 10 ** 20]),
                   "overflow": rng.choice([None, "drop", "disconnect", "explode", 7])}
        return json.dumps(message).encode(), kind
    if kind == "bad_type":
        message = {"id": ident, "endpoint": "hello", "type": rng.choice([1, None, "CALL", "", "x" * 100, [], {}])}
        return json.dumps(message).encode(), kind
    if kind == "bad_id":
        raw = rng.choice([b"1.5", b"1e3", b"null", b"true", b"[]", b"{}", b"01", b"-", b"12345678901234567890",
                          b"-12345678901234567890", b'"\\ud800"', b'"\\u00"', b'"a\\qb"', b"--1", b"+1"])
        return b'{"id":' + raw + b',"endpoint":"hello"}', kind
    if kind == "bad_meta":
        raw = rng.choice([b"[]", b'{"a":1}', b'{"a":null}', b'"x"', b'{"A":"1","a":"2"}', b'{"":""}',
                          b'{"a\\u0000b":"c"}', b'{"x-deny":["1"]}', b"{" + b'"k":"v",' * 2000 + b'"z":"z"}'])
        return b'{"id":7,"endpoint":"hello","meta":' + raw + b"}", kind
    if kind == "garbage":
        return garbage_json(rng), kind
    if kind == "deep":
        depth = rng.choice([1000, 50000, 200000])
        return b'{"id":1,"endpoint":"hello.echo","payload":' + b"[" * depth + b"]" * depth + b"}", kind
    if kind == "dup_keys":
        return b'{"id":1,"id":"2","endpoint":"hello","endpoint":"no.such","payload":{},"payload":[' + b"1," * 100 + b"1]}", kind
    good, _ = envelope(rng, target, ids) if rng.random() < 0.5 else (b'{"id":1,"endpoint":"hello","payload":{}}', "")
    return mutate_bytes(rng, good), "mutated"


# --------------------------------------------------------------------------
# Admin socket


class Admin:
    def __init__(self, path):
        self.path = path

    def request(self, op, args=None, timeout=10.0):
        """One request on a fresh connection; the answer object, or raises."""
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(timeout)
        try:
            sock.connect(self.path)
            message = {"id": 1, "op": op}
            if args is not None:
                message["args"] = args
            sock.sendall(json.dumps(message).encode() + b"\n")
            buf = bytearray()
            deadline = now() + timeout
            while b"\n" not in buf:
                sock.settimeout(max(0.01, deadline - now()))
                chunk = sock.recv(65536)
                if not chunk:
                    raise ConnectionError("admin socket closed before answering")
                buf += chunk
            return json.loads(buf.split(b"\n", 1)[0])
        finally:
            sock.close()

    def result(self, op, args=None, timeout=10.0):
        answer = self.request(op, args, timeout)
        if not answer.get("ok"):
            raise RuntimeError(f"admin {op}: {answer.get('error')}")
        return answer["result"]

    def call(self, endpoint, body, timeout=10.0):
        """(ok, parsed body or error) of an endpoint called through the admin socket."""
        answer = self.request("call", {"endpoint": endpoint, "body": json.dumps(body)}, timeout)
        if not answer.get("ok"):
            return False, answer.get("error")
        return True, json.loads(answer["result"]["body"] or "null")


# --------------------------------------------------------------------------
# Process figures


def proc_alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
        return state not in ("Z", "X")
    except (OSError, IndexError):
        return False


def proc_fds(pid):
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return -1


def proc_rss_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return -1


# --------------------------------------------------------------------------
# The fuzzer


class Fuzzer:
    def __init__(self, args, addrs, pid, target, limits):
        self.args = args
        self.addrs = addrs            # protocol -> (host, port)
        self.pid = pid
        self.target = target
        self.limits = limits
        self.rng = random.Random(args.seed)
        self.stats = Stats()
        self.admin = Admin(args.socket)
        self.pool = Lingering(args.linger)
        self.host_header = b"127.0.0.1"
        self.sentinels = iter(range(1, 1 << 62))
        self.ids = iter(range(1, 1 << 62))
        self.run_id = "%08x" % random.Random(args.seed ^ int(time.time())).getrandbits(32)
        self.kv = {}                  # key -> value acknowledged last
        self.events = {}              # offset -> payload acknowledged
        self.write_failures = []
        self.probe_failures = []
        self.crashed = False
        self.stop = threading.Event()
        self.slow_threads = []

    # ---- helpers

    def connect(self, protocol, category):
        try:
            return Conn(self.addrs[protocol], self.stats, category)
        except OSError as error:
            self.stats.add(category, "connect_failed")
            if not proc_alive(self.pid):
                self.crashed = True
            raise ConnectionError(f"connect to {protocol}: {error}")

    def ws_open(self, category, extensions=None, timeout=3.0):
        """A connection upgraded to WebSocket, and the agreed extensions ('' for none)."""
        conn = self.connect("ws", category)
        key = base64.b64encode(os.urandom(16))
        request = (b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                   b"Sec-WebSocket-Key: " + key + b"\r\nSec-WebSocket-Version: 13\r\n")
        if extensions:
            request += b"Sec-WebSocket-Extensions: " + extensions + b"\r\n"
        conn.send(request + b"\r\n")
        end = conn.read(now() + timeout, lambda b: b"\r\n\r\n" in b)
        if end != "done":
            self.stats.add(category, "upgrade_failed")
            self.stats.note("upgrade_failed", category, f"valid upgrade not answered ({end})", request)
            conn.close()
            return None, None
        head, _, rest = bytes(conn.buf).partition(b"\r\n\r\n")
        accept = base64.b64encode(hashlib.sha1(key + WS_GUID).digest())
        if not head.startswith(b"HTTP/1.1 101") or b"sec-websocket-accept: " + accept.lower() not in head.lower():
            self.stats.add(category, "upgrade_failed")
            self.stats.note("upgrade_failed", category, f"valid upgrade refused: {head[:200]!r}", request)
            conn.close()
            return None, None
        conn.buf = bytearray(rest)
        agreed = b""
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"sec-websocket-extensions:"):
                agreed = line.split(b":", 1)[1].strip()
        return conn, agreed

    def skipped(self, category, label, data):
        """--skip: leave out cases that hit a bug already known, to look past it."""
        for text in self.args.skip:
            if text in label or text.encode() in data:
                self.stats.add(category, "skipped")
                return True
        return False

    def ws_sentinel(self):
        ident = "s%d" % next(self.sentinels)
        return ident, json.dumps({"type": "ping", "id": ident}).encode()

    # ---- HTTP

    def http_case(self):
        rng = self.rng
        parts = []
        labels = []
        count = 1 if rng.random() < 0.8 else rng.randint(2, 8)
        for _ in range(count):
            req, label = http_valid(rng, self.target, self.host_header)
            if rng.random() < 0.55:
                label += "+" + "+".join(http_mutate(rng, req, self.limits) for _ in range(rng.choice([1, 1, 2, 3])))
            data = req.render()
            if rng.random() < 0.15:
                data = mutate_bytes(rng, data)
                label += "+bytes"
            parts.append(data)
            labels.append(label)
        data = b"".join(parts)
        ending = rng.choices(["sentinel", "close", "reset", "shutdown", "linger", "truncate"],
                             [75, 4, 4, 6, 4, 7])[0]
        if ending == "truncate":
            data = data[:rng.randint(0, max(0, len(data) - 1))]
            ending = rng.choice(["close", "reset", "shutdown", "linger"])
        name = labels[0].split("+")[0] + ("+mut" if "+" in "".join(labels) else "") + (f"x{count}" if count > 1 else "")
        if self.skipped("http", "+".join(labels), data):
            return
        self.stats.sent("http", name, "http", data)
        conn = self.connect("http", "http")
        # Sometimes in pieces, so the parser sees every boundary.
        if rng.random() < 0.2 and len(data) > 1:
            cuts = sorted(rng.sample(range(1, len(data)), min(len(data) - 1, rng.randint(1, 6))))
            for a, b in zip([0] + cuts, cuts + [len(data)]):
                if not conn.send(data[a:b]):
                    break
                time.sleep(0.002)
        else:
            conn.send(data)
        sentinel_request = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
        asks_close = count == 1 and "+" not in labels[0] and b"\r\nConnection: close\r\n" in data
        if ending == "sentinel" and asks_close:
            # RFC 9112 9.6: after answering a request with `Connection: close` the server closes.
            end = conn.read(now() + self.args.answer_timeout)
            if end == "timeout" and conn.buf:
                self.stats.add("http", "close_ignored")
                self.stats.note("http_close_ignored", "http", f"{labels}: answered, but the connection stayed open "
                                f"({bytes(conn.buf[:160])!r})", data)
            ending = "asked_close"
        elif ending == "sentinel":
            conn.send(sentinel_request)
            # A mutated request may leave the server waiting for bytes that never come: wait less for it.
            deadline = now() + (self.args.answer_timeout if "+" not in "".join(labels) else self.args.answer_timeout / 4)
            end = conn.read(deadline, lambda b: bytes(b).endswith(SENTINEL_HTTP_BODY))
        elif ending == "shutdown":
            conn.shutdown_write()
            end = conn.read(now() + 2.0)
        elif ending == "linger":
            end = "linger"
        else:
            end = conn.read(now() + 0.02)
        self.classify_http(conn, data, labels, end, ending)
        if end == "timeout" and not conn.buf:
            self.stats.add("http", "no_answer")
        if ending == "sentinel" and end == "timeout" and "+" not in "".join(labels):
            self.unanswered("http", labels, data, conn)
        if ending == "linger" or (end == "timeout" and not conn.buf):
            self.pool.keep(conn, rng)
        else:
            conn.close(reset=ending == "reset")

    def unanswered(self, category, label, data, conn):
        """A well-formed case whose sentinel got no answer in time: the connection (or the kernel) is stuck."""
        self.stats.add(category, "well_formed_unanswered")
        self.stats.note("unanswered", category, f"{label}: no answer within {self.args.answer_timeout} s "
                        f"(got {len(conn.buf)} bytes: {bytes(conn.buf[:120])!r})", data)

    def classify_http(self, conn, data, labels, end, ending):
        statuses = http_statuses(conn.buf)
        if end == "done":
            self.stats.add("http", "sentinel_answered")
            statuses = statuses[:-1]
        for status in statuses:
            self.stats.add("http", "%dxx" % (status // 100))
            self.stats.add("http", "status_%d" % status)
            if status >= 500 and status not in (503, 504) and not any(l.startswith(("fail", "any:hello.fail")) for l in labels):
                self.stats.note("http_5xx", "http", f"status {status} for {labels}", data)
        # Requests sent as generated (no mutation) are valid HTTP: the parser must take them.
        if b"malformed HTTP request" in conn.buf and "+" not in "".join(labels) and ending == "sentinel":
            self.stats.note("http_valid_rejected", "http", f"valid request refused by the parser: {labels}", data)
        if ending == "shutdown" and end == "timeout":
            self.stats.add("http", "open_after_shutdown")

    # ---- WebSocket

    def ws_case(self):
        rng = self.rng
        kind = rng.choice(["call", "call", "call", "fragmented", "envelope", "envelope", "invalid_utf8", "binary",
                           "opcode", "rsv", "unmasked", "control", "oversize", "continuation", "close", "random",
                           "mutated", "deflate", "deflate", "stream", "flood", "pong", "length_form", "upgrade",
                           "upgrade", "upgrade"])
        if kind == "upgrade":
            return self.ws_upgrade_case()
        deflate = kind == "deflate" or rng.random() < 0.1
        offer = b"permessage-deflate; client_no_context_takeover; server_no_context_takeover" if deflate else None
        frames, expect, sentinel, label = self.ws_frames(kind, rng)
        conn, agreed = self.ws_open("ws", offer)
        if conn is None:
            return
        compressed = bool(agreed)
        if kind == "deflate":
            frames, expect, label = self.ws_deflate_frames(rng, compressed)
        data = b"".join(frames)
        if self.skipped("ws", label, data):
            conn.close()
            return
        self.stats.sent("ws", label, "ws", data)
        for frame in frames:
            if not conn.send(frame):
                break
        ident = None
        if sentinel:
            ident, ping = self.ws_sentinel()
            conn.send(ws_frame(1, ping))
        deadline = now() + (self.args.answer_timeout / 4 if kind in ("mutated", "random") else self.args.answer_timeout)
        leave_early = kind == "stream" and rng.random() < 0.5
        if leave_early:
            deadline = now() + 0.05  # leave mid-stream
        marker = ident.encode() if ident else None

        def done(buf):
            for _, _, opcode, payload, _ in ws_parse(buf):
                if opcode == 8 or (marker and opcode == 1 and marker in payload):
                    return True
            return False
        end = conn.read(deadline, done)
        self.classify_ws(conn, data, label, end, expect, compressed)
        well_formed = kind in ("call", "fragmented", "stream", "flood", "pong", "length_form") or \
            (kind == "envelope" and expect is None)
        if sentinel and well_formed and end == "timeout" and not leave_early:
            self.unanswered("ws", label, data, conn)
        if end == "timeout" and not conn.buf:
            self.stats.add("ws", "no_answer")
            self.pool.keep(conn, rng)
            return
        # Answer the server's close as a polite client would, or not.
        if any(f[2] == 8 for f in ws_parse(conn.buf)) and rng.random() < 0.5:
            conn.send(ws_frame(8, struct.pack(">H", 1000)))
            conn.read(now() + 0.2)
        conn.close(reset=rng.random() < 0.15)

    def ws_frames(self, kind, rng):
        """(frames, expected close code or None, send a sentinel, label)."""
        good, label = envelope(rng, self.target, self.ids)
        if kind == "call":
            return [ws_frame(1, good)], None, True, "call/" + label
        if kind == "fragmented":
            pieces = []
            cuts = sorted(rng.sample(range(0, len(good) + 1), min(len(good) + 1, rng.randint(1, 5))))
            bounds = list(zip([0] + cuts, cuts + [len(good)]))
            for i, (a, b) in enumerate(bounds):
                pieces.append(ws_frame(1 if i == 0 else 0, good[a:b], fin=i == len(bounds) - 1))
                if rng.random() < 0.4 and i < len(bounds) - 1:
                    pieces.append(ws_frame(9, b"mid"))
            return pieces, None, True, "fragmented/" + label
        if kind == "envelope":
            data, label = envelope(rng, self.target, self.ids)
            try:
                data.decode("utf-8")
                return [ws_frame(1, data)], None, True, "envelope/" + label
            except UnicodeDecodeError:
                return [ws_frame(1, data)], 1007, False, "envelope-invalid-utf8/" + label
        if kind == "invalid_utf8":
            bad = rng.choice([b"\xff", b"\xc0\x80", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\xe2\x82", b"\x80"])
            text = b'{"id":1,"endpoint":"hello","payload":"' + bad + b'"}'
            if rng.random() < 0.5:
                return [ws_frame(1, text)], 1007, False, "invalid_utf8"
            # Split inside the bad sequence: judged on the whole message.
            cut = text.index(bad) + 1
            return [ws_frame(1, text[:cut], fin=False), ws_frame(0, text[cut:])], 1007, False, "invalid_utf8/fragmented"
        if kind == "binary":
            return [ws_frame(2, good)], 1003, False, "binary"
        if kind == "opcode":
            op = rng.choice([3, 4, 5, 6, 7, 11, 12, 13, 14, 15])
            return [ws_frame(op, good)], 1002, False, "opcode_%d" % op
        if kind == "rsv":
            rsv = rng.choice([1, 2, 3, 5, 6, 7, 4])
            return [ws_frame(1, good, rsv=rsv)], 1002, False, "rsv_%d" % rsv
        if kind == "unmasked":
            return [ws_frame(rng.choice([1, 9, 8, 0]), good, mask=False)], 1002, False, "unmasked"
        if kind == "control":
            which = rng.choice(["ping_fragmented", "ping_long", "close_long", "pong_fragmented"])
            if which == "ping_fragmented":
                return [ws_frame(9, b"a", fin=False), ws_frame(0, b"b")], 1002, False, which
            if which == "pong_fragmented":
                return [ws_frame(10, b"a", fin=False)], 1002, False, which
            if which == "ping_long":
                return [ws_frame(9, b"p" * rng.choice([126, 200, 65535]))], 1002, False, which
            return [ws_frame(8, struct.pack(">H", 1000) + b"r" * 130)], 1002, False, which
        if kind == "oversize":
            n = rng.choice([2 ** 63, 2 ** 64 - 1, 2 ** 63 - 1, 2 ** 32 + 5, self.limits["max_message"] + 1, 2 ** 40])
            form = 64 if n > 0xFFFF else rng.choice([16, 64])
            tail = b"x" * rng.randint(0, 64)
            return [ws_frame(rng.choice([1, 2, 0]), tail, length=n, form=form)], 1009 if n <= 2 ** 63 - 1 else None, \
                False, "oversize_%d" % n
        if kind == "continuation":
            which = rng.choice(["orphan", "text_inside"])
            if which == "orphan":
                return [ws_frame(0, good)], 1002, False, "continuation_orphan"
            return [ws_frame(1, good[:3], fin=False), ws_frame(1, good)], 1002, False, "text_inside_fragmented"
        if kind == "close":
            payload = rng.choice([b"", b"\x03", struct.pack(">H", 1000), struct.pack(">H", 1000) + b"bye",
                                  struct.pack(">H", rng.choice([0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535])),
                                  struct.pack(">H", 3000), struct.pack(">H", 4999) + b"\xff\xfe",
                                  struct.pack(">H", 1001) + "\u00e9".encode()])
            code = None
            if len(payload) == 1:
                code = 1002
            elif len(payload) >= 2:
                value = struct.unpack(">H", payload[:2])[0]
                allowed = value in (1000, 1001, 1002, 1003) or 1007 <= value <= 1011 or 3000 <= value <= 4999
                if not allowed:
                    code = 1002
                else:
                    try:
                        payload[2:].decode("utf-8")
                        code = value
                    except UnicodeDecodeError:
                        code = 1007
            else:
                code = 1000
            return [ws_frame(8, payload)], code, False, "close_%s" % payload[:2].hex()
        if kind == "random":
            return [bytes(rng.randint(0, 255) for _ in range(rng.randint(1, 300)))], None, True, "random_bytes"
        if kind == "mutated":
            frame = ws_frame(1, good)
            return [mutate_bytes(rng, frame, rng.randint(1, 3))], None, True, "mutated_frame"
        if kind == "stream":
            endpoint = rng.choice(["hello.ticker", "hello.chat", "pubsub.subscribe", "hello.ticker"])
            ident = next(self.ids)
            frames = [ws_frame(1, json.dumps({"type": "stream", "id": ident, "endpoint": endpoint,
                                              "payload": {"count": rng.randint(1, 50), "intervalMs": rng.randint(0, 30),
                                                          "patterns": ["fuzz.#"]}}).encode())]
            for _ in range(rng.randint(0, 5)):
                frames.append(ws_frame(1, json.dumps({"type": "item", "id": ident, "payload": {"text": "t"}}).encode()))
            frames.append(ws_frame(1, json.dumps({"type": rng.choice(["end", "cancel", "unsubscribe", "item"]),
                                                  "id": ident, "payload": 1}).encode()))
            return frames, None, True, "stream/" + endpoint
        if kind == "flood":
            count = rng.choice([50, 200, 1001, 1100])
            messages = [ws_frame(1, json.dumps({"type": "stream", "id": i, "endpoint": "hello.ticker",
                                                "payload": {"count": 3, "intervalMs": 300}}).encode())
                        for i in range(count)]
            return [b"".join(messages)], None, True, "flood_%d" % count
        if kind == "pong":
            payload = rng.choice([b"", b"\x00" * 8, struct.pack(">Q", 2 ** 64 - 1), struct.pack(">Q", 1), b"x" * 125])
            return [ws_frame(10, payload), ws_frame(9, payload)], None, True, "pong"
        # length_form: a small payload in a 16- or 64-bit length (not minimal).
        return [ws_frame(1, good, form=rng.choice([16, 64]))], None, True, "length_form"

    def ws_deflate_frames(self, rng, agreed):
        """Compressed messages: valid, corrupt, a bomb past max_message_size,
        RSV1 where it may not be."""
        which = rng.choice(["valid", "valid", "corrupt", "bomb", "rsv1_continuation", "rsv1_control", "final_block"])
        message = b'{"id":1,"endpoint":"hello.echo","payload":' + json.dumps({"t": "x" * rng.randint(0, 400)}).encode() + b"}"
        compressor = zlib.compressobj(wbits=-15)
        body = compressor.compress(message) + compressor.flush(zlib.Z_SYNC_FLUSH)
        body = body[:-4] if body.endswith(b"\x00\x00\xff\xff") else body
        label = "deflate_" + which + ("" if agreed else "_unagreed")
        if not agreed:
            return [ws_frame(1, body, rsv=4)], 1002, label
        if which == "valid":
            return [ws_frame(1, body, rsv=4)], None, label
        if which == "final_block":
            compressor = zlib.compressobj(wbits=-15)
            return [ws_frame(1, compressor.compress(message) + compressor.flush(zlib.Z_FINISH), rsv=4)], None, label
        if which == "corrupt":
            return [ws_frame(1, mutate_bytes(rng, body, 3), rsv=4)], None, label
        if which == "bomb":
            compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
            size = self.limits["max_message"] + rng.choice([1, 1 << 20, 16 << 20])
            bomb = compressor.compress(b'{"id":1,"endpoint":"hello.echo","payload":"' + b"a" * size + b'"}')
            bomb += compressor.flush(zlib.Z_SYNC_FLUSH)
            return [ws_frame(1, bomb[:-4], rsv=4)], 1009, label
        if which == "rsv1_continuation":
            return [ws_frame(1, body[:2], rsv=4, fin=False), ws_frame(0, body[2:], rsv=4)], 1002, label
        return [ws_frame(9, b"p", rsv=4)], 1002, label

    def ws_upgrade_case(self):
        """Upgrade requests: extension offers of every shape, and garbage."""
        rng = self.rng
        key = base64.b64encode(bytes(rng.getrandbits(8) for _ in range(16)))
        lines = [b"GET / HTTP/1.1", b"Host: 127.0.0.1", b"Upgrade: websocket", b"Connection: Upgrade",
                 b"Sec-WebSocket-Key: " + key, b"Sec-WebSocket-Version: 13"]
        which = rng.choice(["extensions", "extensions", "extensions", "version", "key", "method", "http10",
                            "no_upgrade", "mutated", "early_frames", "pipelined", "body", "protocol"])
        if which == "extensions":
            tokens = [b"permessage-deflate", b"permessage-deflate", b"x-webkit-deflate-frame", b"", b" ", b"=",
                      b"server_max_window_bits", b"server_max_window_bits=", b"server_max_window_bits=8",
                      b"server_max_window_bits=9", b"server_max_window_bits=15", b"server_max_window_bits=16",
                      b"server_max_window_bits=abc", b'server_max_window_bits="10"', b"server_max_window_bits=99999999999",
                      b"client_max_window_bits", b"client_max_window_bits=7", b"client_max_window_bits=15",
                      b"server_no_context_takeover", b"client_no_context_takeover", b"unknown=1", b";", b",", b'"',
                      b"==", b"=15", b"\t"]
            for _ in range(rng.randint(1, 3)):
                offer = [rng.choice([b"permessage-deflate", b"permessage-deflate", b"PerMessage-Deflate", b"foo"])]
                offer += [rng.choice(tokens) for _ in range(rng.randint(0, 5))]
                lines.append(b"Sec-WebSocket-Extensions: " + rng.choice([b";", b"; ", b" ;", b","]).join(offer))
        elif which == "version":
            lines[5] = b"Sec-WebSocket-Version: " + rng.choice([b"8", b"14", b"", b"13, 8", b"abc", b"1" * 100])
        elif which == "key":
            lines[4] = b"Sec-WebSocket-Key: " + rng.choice([b"", b"short", b"!!!!", b"A" * 5000, key + key, b"\xff\xfe"])
            if rng.random() < 0.3:
                del lines[4]
        elif which == "method":
            lines[0] = rng.choice([b"POST / HTTP/1.1", b"HEAD / HTTP/1.1", b"GET * HTTP/1.1", b"CONNECT / HTTP/1.1"])
        elif which == "http10":
            lines[0] = b"GET / HTTP/1.0"
        elif which == "no_upgrade":
            del lines[rng.choice([2, 3])]
        elif which == "body":
            lines += [b"Content-Length: 5"]
        elif which == "protocol":
            lines += [b"Sec-WebSocket-Protocol: " + rng.choice([b"chat", b"", b"a, b, c", b"\xff"])]
        data = b"\r\n".join(lines) + b"\r\n\r\n"
        if which == "body":
            data += b"hello"
        if which == "mutated":
            data = mutate_bytes(rng, data)
        if which == "pipelined":
            data = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n" + data
        early = None
        if which == "early_frames" or rng.random() < 0.2:
            # Frames sent with the upgrade, before the 101 came back.
            ident, ping = self.ws_sentinel()
            early = ident
            data += ws_frame(1, ping)
        if self.skipped("ws_upgrade", which, data):
            return
        self.stats.sent("ws_upgrade", which, "ws", data)
        conn = self.connect("ws", "ws_upgrade")
        conn.send(data)
        end = conn.read(now() + self.args.answer_timeout, lambda b: b"\r\n\r\n" in b and
                        (not early or not b.startswith(b"HTTP/1.1 101") or early.encode() in b))
        statuses = http_statuses(conn.buf)
        for status in statuses:
            self.stats.add("ws_upgrade", "status_%d" % status)
            if status >= 500:
                self.stats.note("ws_upgrade_5xx", "ws_upgrade", f"status {status} ({which})", data)
        if end == "timeout" and not conn.buf:
            self.stats.add("ws_upgrade", "no_answer")
        if 101 in statuses:
            self.stats.add("ws_upgrade", "upgraded")
            # An upgraded connection must work: a ping envelope is answered.
            raw = bytes(conn.buf)
            conn.buf = bytearray(raw[raw.find(b"\r\n\r\n", raw.find(b"HTTP/1.1 101")) + 4:])
            ident, ping = self.ws_sentinel()
            conn.send(ws_frame(1, ping))
            end = conn.read(now() + self.args.answer_timeout, lambda b: ident.encode() in b)
            # Bytes a mutation left after the head are frames too, and may rightly end the connection.
            if end != "done" and which != "mutated":
                self.stats.note("ws_upgraded_dead", "ws_upgrade", f"upgraded ({which}) but no pong: {end}", data)
        conn.close(reset=rng.random() < 0.2)

    def classify_ws(self, conn, data, label, end, expect, compressed):
        frames = ws_parse(conn.buf)
        close_code = None
        for fin, rsv, opcode, payload, masked in frames:
            if masked:
                self.stats.note("ws_masked_server_frame", "ws", f"server frame masked ({label})", data)
            if opcode == 8:
                close_code = struct.unpack(">H", payload[:2])[0] if len(payload) >= 2 else 1005
                self.stats.add("ws", "close_%d" % close_code)
                if close_code == 1011:
                    self.stats.note("ws_close_1011", "ws", f"internal error close ({label})", data)
            elif opcode == 1 and not rsv:
                self.count_envelope("ws", payload, label, data)
        if end == "done":
            self.stats.add("ws", "sentinel_answered" if close_code is None else "closed_by_server")
        if expect is not None:
            if close_code == expect:
                self.stats.add("ws", "expected_close")
            elif close_code is None and conn.peer_end is None and end == "timeout":
                self.stats.add("ws", "expected_close_missing")
                self.stats.note("ws_expected_close", "ws", f"{label}: expected close {expect}, got nothing ({end})", data)
            elif close_code != expect:
                self.stats.add("ws", "unexpected_close")
                self.stats.note("ws_close_code", "ws", f"{label}: expected close {expect}, got {close_code} ({end})", data)

    def count_envelope(self, category, payload, label, data):
        message = loads(payload)
        if message is None:
            self.stats.note("bad_server_json", category, f"server message is not JSON ({label}): {payload[:120]!r}", data)
            return
        if not isinstance(message, dict):
            return
        kind = message.get("type")
        self.stats.add(category, "msg_%s" % kind)
        if kind == "error":
            code = (message.get("error") or {}).get("code")
            self.stats.add(category, "error_%s" % code)
            if code == "internal" and b"hello.fail" not in data:
                self.stats.note("internal_error", category, f"internal error ({label}): {payload[:200]!r}", data)

    # ---- TCP

    def tcp_case(self):
        rng = self.rng
        kind = rng.choice(["call", "call", "call", "envelope", "envelope", "heartbeat", "oversize", "http", "truncated",
                           "not_object", "pipelined", "byte_by_byte", "stream", "flood", "mutated", "random",
                           "shutdown_answers"])
        ending = "sentinel"
        expect = None
        good, label = envelope(rng, self.target, self.ids)
        if kind == "call":
            frames = [tcp_frame(good)]
            label = "call/" + label
        elif kind == "envelope":
            data, label = envelope(rng, self.target, self.ids)
            frames = [tcp_frame(data)]
            label = "envelope/" + label
        elif kind == "heartbeat":
            frames = [b"\x00\x00\x00\x00" * rng.randint(1, 100), tcp_frame(good)]
            label = "heartbeat"
        elif kind == "oversize":
            n = rng.choice([self.limits["max_frame"] + 1, 0xFFFFFFFF, 0x80000000, 0x7FFFFFFF])
            frames = [tcp_frame(b"x" * rng.randint(0, 100), length=n)]
            expect, ending, label = "too_large", "read_close", "oversize_%d" % n
        elif kind == "http":
            frames = [b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"]
            expect, ending, label = "too_large", "read_close", "http_on_tcp"
        elif kind == "truncated":
            frame = tcp_frame(good)
            frames = [frame[:rng.randint(1, len(frame) - 1)]]
            ending = rng.choice(["close", "reset", "shutdown", "linger"])
            label = "truncated"
        elif kind == "not_object":
            frames = [tcp_frame(rng.choice([b"[]", b'"x"', b"1", b"null", b"{", b'{"id":1', b"\xff\xfe", b"{}}",
                                            b'{"id":1.5,"endpoint":"hello"}', b'{"endpoint":"hello","id":[1]}']))]
            expect, ending, label = "invalid_argument", "read_close", "not_object"
        elif kind == "pipelined":
            count = rng.randint(2, 200)
            frames = [b"".join(tcp_frame(json.dumps({"id": i, "endpoint": rng.choice(["hello", "greet", "hello.echo"]),
                                                     "payload": {"name": "n%d" % i}}).encode()) for i in range(count))]
            label = "pipelined_%d" % count
        elif kind == "byte_by_byte":
            frame = tcp_frame(good)
            frames = [frame[i:i + 1] for i in range(len(frame))] if len(frame) < 400 else [frame]
            label = "byte_by_byte"
        elif kind == "stream":
            ident = next(self.ids)
            endpoint = rng.choice(["hello.ticker", "hello.chat", "pubsub.subscribe"])
            frames = [tcp_frame(json.dumps({"type": "stream", "id": ident, "endpoint": endpoint,
                                            "payload": {"count": rng.randint(1, 50), "intervalMs": rng.randint(0, 30)}}).encode())]
            frames += [tcp_frame(json.dumps({"type": "item", "id": ident, "payload": {"text": "x"}}).encode())
                       for _ in range(rng.randint(0, 4))]
            frames.append(tcp_frame(json.dumps({"type": rng.choice(["end", "cancel", "unsubscribe"]), "id": ident}).encode()))
            label = "stream/" + endpoint
            if rng.random() < 0.4:
                ending = rng.choice(["close", "reset"])
        elif kind == "flood":
            count = rng.choice([100, 1001, 1100])
            frames = [b"".join(tcp_frame(json.dumps({"type": "stream", "id": i, "endpoint": "hello.ticker",
                                                     "payload": {"count": 3, "intervalMs": 300}}).encode())
                               for i in range(count))]
            label = "flood_%d" % count
        elif kind == "mutated":
            frames = [mutate_bytes(rng, tcp_frame(good), rng.randint(1, 3))]
            label = "mutated"
        elif kind == "random":
            frames = [bytes(rng.randint(0, 255) for _ in range(rng.randint(1, 200)))]
            label = "random"
        else:
            # tcp-framing.md section 2: after the client's FIN every call is still answered, then the server closes.
            count = rng.randint(1, 20)
            frames = [b"".join(tcp_frame(json.dumps({"id": i, "endpoint": "hello"}).encode()) for i in range(count))]
            ending, label = "shutdown_answers", "shutdown_answers_%d" % count
            expect = count
        data = b"".join(frames)
        if self.skipped("tcp", label, data):
            return
        self.stats.sent("tcp", label, "tcp", data)
        conn = self.connect("tcp", "tcp")
        for frame in frames:
            if not conn.send(frame):
                break
            if kind == "byte_by_byte":
                time.sleep(0.001)
        ident = None
        if ending == "sentinel":
            ident = "s%d" % next(self.sentinels)
            conn.send(tcp_frame(json.dumps({"type": "ping", "id": ident}).encode()))
            marker = ('"%s"' % ident).encode()
            # Mutated lengths often leave the server waiting for bytes that never come: wait less.
            wait = self.args.answer_timeout / 4 if kind in ("mutated", "random") else self.args.answer_timeout
            end = conn.read(now() + wait, lambda b: any(marker in f for f in tcp_parse(b)))
        elif ending in ("read_close", "shutdown_answers"):
            if ending == "shutdown_answers":
                conn.shutdown_write()
            end = conn.read(now() + self.args.answer_timeout + 1.0)
        elif ending == "shutdown":
            conn.shutdown_write()
            end = conn.read(now() + 2.0)
        elif ending == "linger":
            end = "linger"
        else:
            end = conn.read(now() + 0.02)
        self.classify_tcp(conn, data, label, end, ending, expect)
        if ending == "sentinel" and end == "timeout" and kind in ("call", "envelope", "heartbeat", "pipelined",
                                                                   "byte_by_byte", "stream", "flood"):
            self.unanswered("tcp", label, data, conn)
        if ending == "linger" or (end == "timeout" and not conn.buf):
            if end == "timeout":
                self.stats.add("tcp", "no_answer")
            self.pool.keep(conn, rng)
        else:
            conn.close(reset=ending == "reset" or rng.random() < 0.1)

    def classify_tcp(self, conn, data, label, end, ending, expect):
        frames = tcp_parse(conn.buf)
        codes = []
        results = 0
        for payload in frames:
            self.count_envelope("tcp", payload, label, data)
            message = loads(payload)
            if isinstance(message, dict):
                if message.get("type") == "error":
                    codes.append((message.get("error") or {}).get("code"))
                elif message.get("type") == "result":
                    results += 1
        if end == "done":
            self.stats.add("tcp", "sentinel_answered")
        if ending == "shutdown" and end == "timeout":
            self.stats.add("tcp", "open_after_shutdown")
            self.stats.note("tcp_open_after_shutdown", "tcp", f"{label}: no close after SHUT_WR", data)
        if ending == "read_close":
            if expect in codes and conn.peer_end:
                self.stats.add("tcp", "expected_error_and_close")
            else:
                self.stats.add("tcp", "unexpected_ending")
                self.stats.note("tcp_expected_error", "tcp",
                                f"{label}: expected {expect} then close, got {codes} and {conn.peer_end or end}", data)
        if ending == "shutdown_answers":
            if results == expect and conn.peer_end == "eof":
                self.stats.add("tcp", "answered_after_fin")
            else:
                self.stats.add("tcp", "lost_after_fin")
                self.stats.note("tcp_answers_after_fin", "tcp",
                                f"{label}: {results}/{expect} answers after the client's FIN, then {conn.peer_end or end}", data)

    # ---- Half-open and reset connections

    def half_open_case(self):
        rng = self.rng
        protocol = rng.choice([p for p in ("http", "ws", "tcp") if p in self.addrs])
        which = rng.choice(["silent", "half_shutdown", "half_shutdown", "rst_idle", "rst_request", "rst_stream",
                            "close_stream", "shutdown_request", "stalled_stream"])
        ident = next(self.ids)
        if protocol == "http":
            request = (b"POST /api/hello.ticker HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                       b"Accept: text/event-stream\r\nContent-Length: 32\r\n\r\n" + b'{"count":200,"intervalMs":10}   ')
        elif protocol == "tcp":
            request = tcp_frame(json.dumps({"type": "stream", "id": ident, "endpoint": "hello.ticker",
                                            "payload": {"count": 200, "intervalMs": 10}}).encode())
        else:
            request = None
        if self.skipped("half_open", f"{which}/{protocol}", request or b""):
            return
        self.stats.sent("half_open", f"{which}/{protocol}", protocol, request or b"")
        if protocol == "ws" and which not in ("silent", "rst_idle"):
            conn, _ = self.ws_open("half_open")
            if conn is None:
                return
            request = ws_frame(1, json.dumps({"type": "stream", "id": ident, "endpoint": "hello.ticker",
                                              "payload": {"count": 200, "intervalMs": 10}}).encode())
        else:
            conn = self.connect(protocol, "half_open")
        if which == "silent":
            self.pool.keep(conn, rng)
            return
        if which == "rst_idle":
            conn.close(reset=True)
            return
        if which == "half_shutdown":
            conn.send(request[:rng.randint(1, len(request) - 1)])
            conn.shutdown_write()
            end = conn.read(now() + 3.0)
            self.stats.add("half_open", "closed_after_shutdown" if end in ("eof", "reset") else "open_after_shutdown")
            if end == "timeout":
                self.stats.note("open_after_shutdown", "half_open", f"{protocol}: half a request and FIN, still open", request)
            conn.close()
            return
        if which == "shutdown_request":
            conn.send(request)
            conn.shutdown_write()
            end = conn.read(now() + 0.3)
            self.stats.add("half_open", f"shutdown_request_{protocol}_{end}")
            conn.close(reset=rng.random() < 0.5)
            return
        conn.send(request)
        if which == "rst_request":
            conn.close(reset=True)
            return
        if which == "stalled_stream":
            # A reader that stops: the stream fills the socket and its queue, the handler waits (backpressure).
            big = json.dumps({"type": "stream", "id": ident + 1, "endpoint": "hello.ticker",
                              "payload": {"count": 100000, "intervalMs": 0, "padding": 65536}}).encode()
            if protocol == "ws":
                conn.send(ws_frame(1, big))
            elif protocol == "tcp":
                conn.send(tcp_frame(big))
            else:
                body = b'{"count":100000,"intervalMs":0,"padding":65536}'
                conn.send(b"POST /api/hello.ticker HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
            time.sleep(rng.uniform(0.1, 0.5))
            conn.close(reset=rng.random() < 0.5)
            return
        # Wait for the first item, then cut the connection mid-stream.
        conn.read(now() + 2.0, lambda b: len(b) > 40)
        conn.close(reset=which == "rst_stream")

    # ---- Admin socket

    def admin_case(self):
        rng = self.rng
        lines = []
        for _ in range(rng.randint(1, 4)):
            line = rng.choice([
                b"not json", b"", b"[]", b"null", b'{"op":1}', b'{"op":"nope"}', b'{"op":"status","id":[1]}',
                b'{"op":"info","args":{"name":1}}', b'{"op":"info","args":"hello"}', b'{"op":"info","args":{"name":"\\ud800"}}',
                b'{"op":"endpoints","args":null}', b'{"op":"list"}', b'{"id":' + b"9" * 40 + b',"op":"status"}',
                b'{"op":"call","args":{"endpoint":"hello.echo","body":"' + b"[" * 2000 + b'"}}',
                b'{"op":"call","args":{"endpoint":"greet","body":"{\\"name\\":\\"x\\"}","meta":{"x":1}}}',
                b'{"op":"call","args":{"endpoint":"hello","content_type":5}}',
                b'{"op":"status"}\x00', b"\xff\xfe\xfd", b"{" * 10000, b'{"op":"' + b"s" * 70000 + b'"}',
            ])
            if rng.random() < 0.3:
                line = mutate_bytes(rng, line)
            lines.append(line.replace(b"\n", b" "))
        data = b"\n".join(lines) + b'\n{"id":"sentinel","op":"status"}\n'
        self.stats.sent("admin", "lines", "admin", data)
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(3.0)
        try:
            sock.connect(self.args.socket)
            self.stats.add("admin", "connections")
            sock.sendall(data)
            buf = bytearray()
            deadline = now() + self.args.answer_timeout
            while b'"sentinel"' not in buf and now() < deadline:
                sock.settimeout(max(0.01, deadline - now()))
                chunk = sock.recv(65536)
                if not chunk:
                    break
                buf += chunk
            answered = b'"sentinel"' in buf
            self.stats.add("admin", "sentinel_answered" if answered else "sentinel_missing")
            if not answered:
                self.stats.note("admin_unanswered", "admin", "status after garbage lines not answered", data)
            for line in bytes(buf).split(b"\n"):
                if line.strip():
                    try:
                        answer = json.loads(line)
                        self.stats.add("admin", "ok" if answer.get("ok") else "error_%s" % (answer.get("error") or {}).get("code"))
                    except ValueError:
                        self.stats.note("admin_bad_json", "admin", f"answer not JSON: {line[:120]!r}", data)
        except OSError as error:
            self.stats.add("admin", "socket_error")
            self.stats.note("admin_socket_error", "admin", str(error), data)
        finally:
            sock.close()

    # ---- Slowloris

    def slow_worker(self, index):
        rng = random.Random((self.args.seed << 8) + index)
        protocols = [p for p in ("http", "ws", "tcp") if p in self.addrs]
        while not self.stop.is_set():
            variant = rng.choice(["head", "head", "body", "abandon"])
            protocol = rng.choice(protocols)
            try:
                self.slow_once(rng, variant, protocol)
            except (ConnectionError, OSError) as error:
                self.stats.add("slowloris", "error")
                if not proc_alive(self.pid):
                    return
                self.stop.wait(0.2)

    def slow_once(self, rng, variant, protocol):
        """Sends a valid request a byte at a time (or its body slowly), within
        the transports' timeouts: it must be answered. 'abandon' gives up halfway."""
        conn = None
        if protocol == "ws":
            conn, _ = self.ws_open("slowloris")
            if conn is None:
                return
            data = ws_frame(1, json.dumps({"id": 1, "endpoint": "hello"}).encode())
            marker = b'"result"'
        elif protocol == "tcp":
            data = tcp_frame(json.dumps({"id": 1, "endpoint": "hello"}).encode())
            marker = b'"result"'
        else:
            body = b'{"name":"slow"}'
            data = (b"POST /api/greet HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                    b"X-Slow: " + b"s" * rng.randint(0, 40) + b"\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
            marker = b"hello, slow"
        if conn is None:
            conn = Conn(self.addrs[protocol], self.stats, "slowloris")
        self.stats.add("slowloris", f"{variant}_{protocol}")
        split = data.find(b"\r\n\r\n") + 4 if protocol == "http" else 4
        stop_at = rng.randint(1, len(data) - 1) if variant == "abandon" else len(data)
        if variant == "body":
            conn.send(data[:split])
            start = split
        else:
            start = 0
        # Bytes one at a time, slower than a client should, yet done within --slow-seconds: the
        # transports may bound how long a request head takes (http: keepalive_timeout_ms).
        delay = rng.uniform(0.3, 1.0) * min(0.1, self.args.slow_seconds / max(1, stop_at - start))
        for i in range(start, stop_at):
            if self.stop.is_set():
                conn.close(reset=rng.random() < 0.5)
                self.stats.add("slowloris", "cut_by_end_of_run")
                return
            if not conn.send(data[i:i + 1]):
                break
            time.sleep(delay)
        if variant == "abandon":
            conn.close(reset=rng.random() < 0.5)
            self.stats.add("slowloris", "abandoned")
            return
        end = conn.read(now() + 5.0, lambda b: marker in b)
        if end == "done":
            self.stats.add("slowloris", "answered")
        else:
            self.stats.add("slowloris", "unanswered")
            self.stats.note("slow_unanswered", "slowloris",
                            f"{protocol} request sent slowly ({variant}, {delay:.3f} s/byte) not answered: {end}, got {bytes(conn.buf[:200])!r}",
                            data)
        conn.close()

    # ---- Real work that must survive

    def write_kv(self):
        rng = self.rng
        if self.kv and rng.random() < 0.2:
            key = rng.choice(sorted(self.kv))
        else:
            key = "fz-%s-%d" % (self.run_id, len(self.kv))
        value = rand_text(rng, 200) + "#%d" % rng.getrandbits(32)
        try:
            ok, answer = self.admin.call("storage.kv.put", {"namespace": "shared.fuzz", "key": key, "value": value})
        except (OSError, ValueError, ConnectionError) as error:
            ok, answer = False, str(error)
        self.stats.add("writes", "kv_ok" if ok else "kv_failed")
        if ok and isinstance(answer, dict) and answer.get("value") == value:
            self.kv[key] = value
        else:
            self.write_failures.append({"kind": "kv", "key": key, "answer": str(answer)[:300]})

    def write_event(self):
        """A publish over http, ws or tcp; acknowledged with its offset."""
        rng = self.rng
        payload = {"run": self.run_id, "n": len(self.events) + len(self.write_failures), "v": rand_text(rng, 100)}
        body = {"topic": "fuzz.%s.w" % self.run_id, "payload": payload}
        via = rng.choice([p for p in ("http", "http", "ws", "tcp") if p in self.addrs])
        result = None
        try:
            if via == "http":
                raw = json.dumps(body).encode()
                path = rng.choice([b"/events", b"/api/pubsub.publish"])
                conn = self.connect("http", "writes")
                conn.send(b"POST " + path + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                          b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(raw) + raw)
                conn.read(now() + 10.0, lambda b: http_response(b) is not None)
                conn.close()
                response = http_response(conn.buf)
                if response and response[0] == 200:
                    result = json.loads(response[2])
            else:
                ident = "w%d" % next(self.ids)
                message = json.dumps({"id": ident, "endpoint": "pubsub.publish", "payload": body}).encode()
                if via == "ws":
                    conn, _ = self.ws_open("writes")
                    if conn is None:
                        raise ConnectionError("ws upgrade failed")
                    conn.send(ws_frame(1, message))
                    conn.read(now() + 10.0, lambda b: any(ident.encode() in f[3] for f in ws_parse(b)))
                    answers = [f[3] for f in ws_parse(conn.buf) if ident.encode() in f[3]]
                else:
                    conn = self.connect("tcp", "writes")
                    conn.send(tcp_frame(message))
                    conn.read(now() + 10.0, lambda b: any(ident.encode() in f for f in tcp_parse(b)))
                    answers = [f for f in tcp_parse(conn.buf) if ident.encode() in f]
                conn.close()
                if answers:
                    answer = json.loads(answers[0])
                    if answer.get("type") == "result":
                        result = answer.get("result")
        except (OSError, ValueError, ConnectionError) as error:
            result = None
            self.write_failures.append({"kind": "event", "via": via, "error": str(error)[:300]})
            self.stats.add("writes", "event_failed")
            return
        if isinstance(result, dict) and isinstance(result.get("offset"), int):
            self.events[result["offset"]] = payload
            self.stats.add("writes", "event_ok_" + via)
        else:
            self.stats.add("writes", "event_failed")
            self.write_failures.append({"kind": "event", "via": via, "answer": str(result)[:300]})

    def verify_writes(self):
        lost = []
        for key, value in sorted(self.kv.items()):
            try:
                ok, answer = self.admin.call("storage.kv.get", {"namespace": "shared.fuzz", "key": key})
            except (OSError, ValueError, ConnectionError) as error:
                ok, answer = False, str(error)
            if not ok or not isinstance(answer, dict) or answer.get("value") != value:
                lost.append({"kind": "kv", "key": key, "expected": value, "got": str(answer)[:300]})
        if self.events:
            seen = {}
            since = min(self.events) - 1
            topic = "fuzz.%s.w" % self.run_id
            for _ in range(1000):
                status, body = self.http_get("/events?since=%d&topics=%s&limit=1000" % (since, topic))
                if status != 200:
                    lost.append({"kind": "event", "error": f"GET /events answered {status}: {body[:200]!r}"})
                    break
                batch = json.loads(body)
                if not batch:
                    break
                for event in batch:
                    seen[event.get("offset")] = event.get("payload")
                since = batch[-1]["offset"]
            for offset, payload in sorted(self.events.items()):
                if seen.get(offset) != payload:
                    lost.append({"kind": "event", "offset": offset, "expected": payload, "got": seen.get(offset)})
        return lost

    # ---- Probes and checks

    def http_get(self, path, protocol="http", timeout=5.0):
        conn = Conn(self.addrs[protocol], self.stats, "probes", timeout=timeout)
        try:
            conn.send(b"GET " + path.encode() + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            conn.read(now() + timeout, lambda b: http_response(b) is not None)
            response = http_response(conn.buf)
            return (response[0], response[2]) if response else (0, bytes(conn.buf))
        finally:
            conn.close()

    def normal_call(self, protocol, timeout=5.0):
        """A plain call of `hello` (or, without the sample, of an operator-free
        endpoint): returns an error string or None."""
        endpoint = "hello" if self.target.has_hello else None
        if endpoint is None:
            return None
        if protocol == "http":
            conn = Conn(self.addrs["http"], self.stats, "probes", timeout=timeout)
            try:
                conn.send(b"POST /api/hello HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}")
                conn.read(now() + timeout, lambda b: http_response(b) is not None)
                response = http_response(conn.buf)
                if not response or response[0] != 200 or b'"hello"' not in response[2]:
                    return f"http hello: {bytes(conn.buf[:200])!r}"
                return None
            finally:
                conn.close()
        message = json.dumps({"id": "probe", "endpoint": endpoint}).encode()
        if protocol == "ws":
            conn, _ = self.ws_open("probes", timeout=timeout)
            if conn is None:
                return "ws upgrade failed"
            try:
                conn.send(ws_frame(1, message))
                conn.read(now() + timeout, lambda b: any(b'"probe"' in f[3] for f in ws_parse(b)))
                answers = [f[3] for f in ws_parse(conn.buf) if b'"probe"' in f[3]]
            finally:
                conn.close()
        else:
            conn = Conn(self.addrs["tcp"], self.stats, "probes", timeout=timeout)
            try:
                conn.send(tcp_frame(message))
                conn.read(now() + timeout, lambda b: any(b'"probe"' in f for f in tcp_parse(b)))
                answers = [f for f in tcp_parse(conn.buf) if b'"probe"' in f]
            finally:
                conn.close()
        if not answers or b'"result"' not in answers[0]:
            return f"{protocol} hello: {answers or bytes(conn.buf[:200])!r}"
        return None

    def probe(self, full):
        """Failures of a health probe (empty: healthy)."""
        failures = []
        try:
            status, _ = self.http_get("/healthz")
            if status != 200:
                failures.append(f"http /healthz answered {status}")
        except (OSError, ConnectionError) as error:
            failures.append(f"http /healthz: {error}")
        if full:
            for protocol in [p for p in ("ws", "tcp") if p in self.addrs]:
                try:
                    problem = self.normal_call(protocol)
                    if problem:
                        failures.append(problem)
                except (OSError, ConnectionError) as error:
                    failures.append(f"{protocol} call: {error}")
            try:
                self.admin.result("status", timeout=5.0)
            except (OSError, ValueError, RuntimeError, ConnectionError) as error:
                failures.append(f"admin status: {error}")
        return failures

    def check_probe(self, full):
        failures = self.probe(full)
        if not failures:
            return
        # Give a busy kernel a moment before calling it stuck.
        for _ in range(3):
            time.sleep(1.0)
            if not proc_alive(self.pid):
                self.crashed = True
                return
            failures = self.probe(full)
            if not failures:
                self.stats.add("probes", "slow_recovery")
                return
        entry = {"case": self.stats.case_number, "failures": failures, "suspects": self.stats.suspects(6)}
        self.probe_failures.append(entry)
        say(f"kernel not serving after case {self.stats.case_number}: {failures}")

    # ---- Main loop

    def run(self):
        args = self.args
        categories = ["http", "ws", "tcp", "half_open", "admin"]
        weights = [36, 30, 24, 7, 3]
        available = [(c, w) for c, w in zip(categories, weights)
                     if c in ("half_open", "admin") or c in self.addrs]
        for i in range(args.slow):
            thread = threading.Thread(target=self.slow_worker, args=(i,), daemon=True, name=f"slow-{i}")
            thread.start()
            self.slow_threads.append(thread)
        started = now()
        end_at = started + args.seconds
        last_probe = now()
        last_report = now()
        sent = 0
        while sent < args.cases and now() < end_at:
            category = self.rng.choices([c for c, _ in available], [w for _, w in available])[0]
            try:
                getattr(self, category + "_case")()
            except (ConnectionError, OSError) as error:
                self.stats.add(category, "client_error")
                if self.args.verbose:
                    say(f"{category}: {error}")
            except Exception as error:  # noqa: BLE001 - a fuzzer bug must not end the run unchecked
                self.stats.add(category, "fuzzer_exception")
                if self.stats.counts[category]["fuzzer_exception"] <= 3:
                    say(f"{category}: fuzzer exception {error!r}")
            sent += 1
            if self.rng.random() < args.write_ratio:
                self.write_kv()
                if self.target.has_pubsub:
                    self.write_event()
            if not proc_alive(self.pid):
                self.crashed = True
            if self.crashed:
                say(f"the kernel died during case {self.stats.case_number}")
                break
            if now() - last_probe > 1.0:
                self.check_probe(full=sent % 10 == 0)
                last_probe = now()
                if self.crashed:
                    break
            if now() - last_report > 10.0:
                say(f"{sent} cases, {now() - started:.0f} s, kernel fds {proc_fds(self.pid)}, "
                    f"rss {proc_rss_kib(self.pid) // 1024} MiB")
                last_report = now()
        self.stop.set()
        for thread in self.slow_threads:
            thread.join(timeout=10.0)
        self.pool.close_all()
        return sent, now() - started


# --------------------------------------------------------------------------
# Set-up, checks, report


def parse_addr(text, name):
    host, _, port = text.rpartition(":")
    host = host.strip("[]") or "127.0.0.1"
    try:
        infos = socket.getaddrinfo(host, int(port), type=socket.SOCK_STREAM)
    except (OSError, ValueError) as error:
        raise SystemExit(f"--{name} {text}: {error}")
    for info in infos:
        if not ipaddress.ip_address(info[4][0]).is_loopback:
            raise SystemExit(f"--{name} {text}: not a loopback address; this fuzzer only talks to the local machine")
    return infos[0][4][:2]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--http", help="HOST:PORT of the http transport (default: from the admin status)")
    parser.add_argument("--ws", help="HOST:PORT of the ws transport")
    parser.add_argument("--tcp", help="HOST:PORT of the tcp transport")
    parser.add_argument("--socket", required=True, help="the kernel's admin socket")
    parser.add_argument("--pid", type=int, help="the kernel's pid (default: from the admin status)")
    parser.add_argument("--cases", type=int, default=3000)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--slow", type=int, default=4, help="slowloris connections at a time")
    parser.add_argument("--slow-seconds", type=float, default=3.0, help="how long one slowloris request takes at most")
    parser.add_argument("--linger", type=int, default=64, help="idle and half-open connections kept at a time")
    parser.add_argument("--write-ratio", type=float, default=0.08, help="chance of a write after each case")
    parser.add_argument("--answer-timeout", type=float, default=2.0, help="seconds to wait for an answer")
    parser.add_argument("--settle", type=float, default=15.0, help="seconds for descriptors and calls to come back")
    parser.add_argument("--fd-slack", type=int, default=8)
    parser.add_argument("--max-body", type=int, default=1 << 20, help="http.max_body_size of the kernel")
    parser.add_argument("--max-message", type=int, default=1 << 20, help="ws.max_message_size / tcp.max_frame_size")
    parser.add_argument("--skip", action="append", default=[], metavar="TEXT",
                        help="leave out cases whose label or bytes contain TEXT (repeatable): look past a known bug")
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args()
    if args.seed is None:
        args.seed = random.SystemRandom().randrange(1 << 31)

    started = now()
    # Never hang: whatever happens, the run ends.
    budget = args.seconds + args.settle + 180.0

    def watchdog():
        time.sleep(budget)
        say(f"watchdog: the run overstayed {budget:.0f} s; giving up")
        print(json.dumps({"ok": False, "error": "watchdog", "seed": args.seed}), flush=True)
        os._exit(3)
    threading.Thread(target=watchdog, daemon=True).start()

    admin = Admin(args.socket)
    try:
        status = admin.result("status")
        endpoints = admin.result("endpoints")["endpoints"]
    except Exception as error:  # noqa: BLE001 - any failure here means no kernel to fuzz
        print(json.dumps({"ok": False, "error": f"admin socket: {error}", "seed": args.seed}))
        say(f"cannot reach the kernel's admin socket {args.socket}: {error}")
        return 2
    pid = args.pid or status["pid"]
    listeners = {entry["plugin"]: entry["port"] for entry in status.get("listeners", [])}
    addrs = {}
    for protocol in ("http", "ws", "tcp"):
        given = getattr(args, protocol)
        if given:
            addrs[protocol] = parse_addr(given, protocol)
        elif protocol in listeners:
            addrs[protocol] = ("127.0.0.1", listeners[protocol])
    if "http" not in addrs:
        say("no http transport: nothing to probe the kernel with")
        return 2
    names = sorted(entry["name"] for entry in endpoints)
    # Routes to endpoints that never end (event streams) would hold every pipelined request behind them.
    routes = [(route["method"], route["path"]) for entry in endpoints for route in entry.get("routes", [])
              if entry.get("kind") == "unary"]
    target = Target(names, routes)
    limits = {"max_body": args.max_body, "max_message": args.max_message, "max_frame": args.max_message}
    fuzzer = Fuzzer(args, addrs, pid, target, limits)
    say(f"seed {args.seed}, pid {pid}, targets {addrs}, {len(names)} endpoints, run id {fuzzer.run_id}")

    # Warm up (lazy descriptors: database files, event loops), then the baseline.
    for protocol in addrs:
        try:
            fuzzer.normal_call(protocol)
        except (OSError, ConnectionError):
            pass
    fuzzer.write_kv()
    if target.has_pubsub:
        fuzzer.write_event()
    time.sleep(1.0)
    baseline = {"fds": proc_fds(pid), "rss_kib": proc_rss_kib(pid)}
    say(f"baseline: {baseline['fds']} fds, {baseline['rss_kib'] // 1024} MiB")

    sent, elapsed = fuzzer.run()
    say(f"sent {sent} cases in {elapsed:.1f} s; checking")

    checks = []

    def check(name, ok, detail=""):
        checks.append({"name": name, "ok": bool(ok), "detail": detail})
        say(f"{'PASS' if ok else 'FAIL'} {name}{': ' + str(detail) if detail else ''}")

    alive = proc_alive(pid)
    check("kernel alive", alive, "" if alive else "the kernel process is gone")
    if alive:
        for protocol in ("http", "ws"):
            if protocol in addrs:
                try:
                    status_code, body = fuzzer.http_get("/healthz", protocol)
                    check(f"{protocol} /healthz 200", status_code == 200, f"{status_code} {body[:100]!r}")
                except (OSError, ConnectionError) as error:
                    check(f"{protocol} /healthz 200", False, str(error))
        for protocol in ("http", "ws", "tcp"):
            if protocol in addrs:
                try:
                    problem = fuzzer.normal_call(protocol)
                    check(f"{protocol} call", problem is None, problem or "")
                except (OSError, ConnectionError) as error:
                    check(f"{protocol} call", False, str(error))
        try:
            answer = admin.result("status", timeout=5.0)
            check("admin status", answer.get("pid") == pid, f"pid {answer.get('pid')}")
        except Exception as error:  # noqa: BLE001
            check("admin status", False, str(error))
        lost = fuzzer.verify_writes()
        check("acknowledged writes read back", not lost,
              f"{len(fuzzer.kv)} keys, {len(fuzzer.events)} events" + (f"; lost {lost[:5]}" if lost else ""))
        check("writes acknowledged", not fuzzer.write_failures,
              f"{len(fuzzer.write_failures)} refused: {fuzzer.write_failures[:3]}" if fuzzer.write_failures else "")

        # Calls and streams of closed connections are cancelled, descriptors closed.
        deadline = now() + args.settle
        in_flight, active, fds = None, None, None
        while True:
            try:
                in_flight = admin.result("status", timeout=5.0).get("in_flight")
            except Exception:  # noqa: BLE001
                in_flight = None
            active = None
            if target.has_hello:
                try:
                    ok, streams = admin.call("hello.streams", {}, timeout=5.0)
                    active = streams.get("active") if ok and isinstance(streams, dict) else None
                except Exception:  # noqa: BLE001
                    active = None
            fds = proc_fds(pid)
            settled = in_flight == 0 and active in (0, None) and 0 <= fds <= baseline["fds"] + args.fd_slack
            if settled or now() >= deadline:
                break
            time.sleep(0.5)
        check("no call in flight", in_flight == 0, f"in_flight {in_flight}")
        if target.has_hello:
            check("no stream left running", active == 0, f"hello.streams active {active}")
        check("descriptors back", 0 <= fds <= baseline["fds"] + args.fd_slack,
              f"baseline {baseline['fds']}, final {fds}, limit {baseline['fds'] + args.fd_slack}")
        rss = proc_rss_kib(pid)
        limit = baseline["rss_kib"] + max(64 * 1024, baseline["rss_kib"] // 2)
        check("memory bounded", 0 <= rss <= limit,
              f"baseline {baseline['rss_kib'] // 1024} MiB, final {rss // 1024} MiB, limit {limit // 1024} MiB")
    else:
        fds, rss = -1, -1
    check("kernel kept serving during the run", not fuzzer.probe_failures,
          f"{len(fuzzer.probe_failures)} failed probes: {fuzzer.probe_failures[:2]}" if fuzzer.probe_failures else "")
    unanswered = sum(counter["well_formed_unanswered"] for counter in fuzzer.stats.counts.values())
    check("well-formed cases answered", unanswered == 0, f"{unanswered} got no answer within {args.answer_timeout} s"
          if unanswered else "")
    slow = fuzzer.stats.counts["slowloris"]
    check("slow requests answered", slow["unanswered"] == 0,
          f"{slow['answered']} answered, {slow['unanswered']} not")

    ok = all(c["ok"] for c in checks)
    counts = {category: dict(sorted(counter.items())) for category, counter in sorted(fuzzer.stats.counts.items())}
    summary = {
        "ok": ok,
        "seed": args.seed,
        "run_id": fuzzer.run_id,
        "cases": sent,
        "elapsed_s": round(elapsed, 1),
        "total_s": round(now() - started, 1),
        "pid": pid,
        "baseline": baseline,
        "final": {"fds": fds, "rss_kib": rss},
        "writes": {"kv": len(fuzzer.kv), "events": len(fuzzer.events), "failures": len(fuzzer.write_failures)},
        "checks": checks,
        "counts": counts,
        "findings": fuzzer.stats.findings,
        "finding_kinds": dict(fuzzer.stats.finding_kinds),
        # The last cases before the kernel died or stopped answering: start reproducing from these.
        "suspects": fuzzer.stats.suspects() if (fuzzer.crashed or not alive or fuzzer.probe_failures) else [],
        "probe_failures": fuzzer.probe_failures,
    }
    for category, counter in sorted(fuzzer.stats.counts.items()):
        keys = ["cases", "connections", "server_closed", "server_reset", "4xx", "5xx", "no_answer", "sentinel_answered"]
        shown = ", ".join(f"{k} {counter[k]}" for k in keys if counter.get(k))
        say(f"{category:>10}: {shown}")
    if fuzzer.stats.finding_kinds:
        say(f"findings: {dict(fuzzer.stats.finding_kinds)}")
    if summary["suspects"]:
        say("last cases before the failure (base64 in the JSON summary):")
        for case in summary["suspects"]:
            say(f"  #{case['n']} {case['category']}/{case['name']} -> {case['target']} ({case['size']} bytes)")
    say("OK" if ok else "FAILED")
    print(json.dumps(summary, indent=1))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

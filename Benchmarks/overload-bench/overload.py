#!/usr/bin/env python3
"""Offers a paced load over keep-alive HTTP connections while probing
GET /healthz and the admin socket, and sampling the worker's memory.

    overload.py --port P --socket S --pid WORKER --path /api/slow.wait --rate 1600 --seconds 20

Prints one JSON object: answers by status, healthz and admin latency
percentiles (ms), RSS (MiB) at start, peak and end.
"""
import argparse, asyncio, json, socket, time


def percentile(values, fraction):
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(len(ordered) * fraction))] * 1000, 2)


def rss_mib(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    return None


async def read_response(reader):
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    if length:
        await reader.readexactly(length)
    return status


async def worker(args, deadline, interval, counts, offset):
    request = (f"POST {args.path} HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n"
               f"Content-Length: 2\r\n\r\n{{}}").encode()
    next_send = time.monotonic() + offset
    reader = writer = None
    while time.monotonic() < deadline:
        if reader is None:
            try:
                reader, writer = await asyncio.open_connection("127.0.0.1", args.port)
            except OSError:
                counts["refused"] = counts.get("refused", 0) + 1
                await asyncio.sleep(0.01)
                continue
        delay = next_send - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        next_send += interval
        try:
            writer.write(request)
            status = await asyncio.wait_for(read_response(reader), 10)
            counts[status] = counts.get(status, 0) + 1
        except (OSError, asyncio.IncompleteReadError, asyncio.TimeoutError, ValueError):
            counts["error"] = counts.get("error", 0) + 1
            writer.close()
            reader = writer = None


async def probe_healthz(args, deadline, latencies, failures):
    while time.monotonic() < deadline:
        started = time.monotonic()
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", args.port)
            writer.write(b"GET /healthz HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n")
            status = await asyncio.wait_for(read_response(reader), 10)
            writer.close()
            if status == 200:
                latencies.append(time.monotonic() - started)
            else:
                failures.append(status)
        except (OSError, asyncio.IncompleteReadError, asyncio.TimeoutError) as error:
            failures.append(str(error))
        await asyncio.sleep(0.01)


def probe_admin(args, deadline, latencies, failures):
    while time.monotonic() < deadline:
        started = time.monotonic()
        try:
            with socket.socket(socket.AF_UNIX) as admin:
                admin.settimeout(10)
                admin.connect(args.socket)
                admin.sendall(b'{"id":1,"op":"status"}\n')
                data = b""
                while not data.endswith(b"\n"):
                    chunk = admin.recv(65536)
                    if not chunk:
                        break
                    data += chunk
                if b'"ok":true' in data:
                    latencies.append(time.monotonic() - started)
                else:
                    failures.append(data[:80].decode(errors="replace"))
        except OSError as error:
            failures.append(str(error))
        time.sleep(0.1)


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--socket", required=True)
    parser.add_argument("--pid", type=int, required=True)
    parser.add_argument("--path", default="/api/slow.wait")
    parser.add_argument("--rate", type=float, default=1600, help="requests per second offered (0: probe only)")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=20)
    args = parser.parse_args()

    deadline = time.monotonic() + args.seconds
    counts, healthz, healthz_failures, admin, admin_failures = {}, [], [], [], []
    rss = [rss_mib(args.pid)]
    # --rate 0: probes only (the load comes from elsewhere, or there is none).
    interval = args.connections / args.rate if args.rate > 0 else 0
    workers = args.connections if args.rate > 0 else 0
    loop = asyncio.get_running_loop()
    admin_probe = loop.run_in_executor(None, probe_admin, args, deadline, admin, admin_failures)

    async def sample_memory():
        while time.monotonic() < deadline:
            await asyncio.sleep(1)
            rss.append(rss_mib(args.pid))

    await asyncio.gather(
        *(worker(args, deadline, interval, counts, interval * i / args.connections) for i in range(workers)),
        probe_healthz(args, deadline, healthz, healthz_failures), sample_memory())
    await admin_probe
    await asyncio.sleep(2)
    rss.append(rss_mib(args.pid))
    print(json.dumps({
        "offered_per_s": args.rate, "seconds": args.seconds,
        "answers": {str(k): v for k, v in sorted(counts.items(), key=lambda kv: str(kv[0]))},
        "served_per_s": round(counts.get(200, 0) / args.seconds, 1),
        "healthz": {"count": len(healthz), "failures": len(healthz_failures),
                    "p50_ms": percentile(healthz, 0.50), "p99_ms": percentile(healthz, 0.99),
                    "max_ms": percentile(healthz, 1.0)},
        "admin": {"count": len(admin), "failures": len(admin_failures),
                  "p50_ms": percentile(admin, 0.50), "p99_ms": percentile(admin, 0.99)},
        "rss_mib": {"start": rss[0], "peak": max(r for r in rss if r), "end": rss[-1]},
    }))


asyncio.run(main())

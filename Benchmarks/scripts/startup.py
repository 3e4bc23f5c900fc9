#!/usr/bin/env python3
"""Kernel start to first served request, and each plugin's load time.

Usage: Benchmarks/scripts/startup.py <bin dir> <plugins...> [--runs N]
Starts `<bin dir>/kernel` with a fresh data directory and the given plugin
files, sends POST /api/hello until one is answered 200, and prints the time
from process start to that answer; the load times come from the kernel's log
("loaded plugin NAME ... in X ms": copy, dlopen, entry, init, start)."""
import json, os, re, shutil, socket, statistics, subprocess, sys, tempfile, time

args = sys.argv[1:]
runs = 5
if "--runs" in args:
    i = args.index("--runs"); runs = int(args[i + 1]); del args[i:i + 2]
bin_dir, plugins = args[0], args[1:]

def free_port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]; s.close(); return port

first, loads = [], {}
for _ in range(runs):
    work = tempfile.mkdtemp(prefix="kn-start-")
    os.mkdir(work + "/plugins")
    for p in plugins: shutil.copy(p, work + "/plugins/")
    port = free_port()
    log = open(work + "/kernel.log", "w")
    started = time.monotonic()
    kernel = subprocess.Popen([bin_dir + "/kernel", "--plugins", work + "/plugins", "--data", work + "/data",
                               "--set", "http.port=%d" % port, "--set", "http.host=127.0.0.1"], stderr=log)
    request = b"POST /api/hello HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"
    deadline = started + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                s.sendall(request)
                if b" 200 " in s.recv(4096): break
        except OSError:
            time.sleep(0.0005)
    first.append((time.monotonic() - started) * 1000)
    kernel.terminate(); kernel.wait(10); log.close()
    for name, ms in re.findall(r"loaded plugin (\S+) .* in ([0-9.]+) ms", open(work + "/kernel.log").read()):
        loads.setdefault(name, []).append(float(ms))
    shutil.rmtree(work, ignore_errors=True)

print(json.dumps({"start_to_first_request_ms": round(statistics.median(first), 1),
                  "plugin_load_ms": {k: round(statistics.median(v), 2) for k, v in loads.items()},
                  "runs": runs}))

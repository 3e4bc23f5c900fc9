#!/usr/bin/env python3
"""Turns the harness's result lines into results/latest.json, a Markdown table
(results/latest.md, printed) and a chart (results/http.png).

Input: lines "<target> <case> <json>" on stdin, as run.sh writes them."""
import json
import os
import sys

out_dir = sys.argv[1]
results = {}
for line in sys.stdin:
    parts = line.strip().split(" ", 2)
    if len(parts) == 3:
        results.setdefault(parts[0], {})[parts[1]] = json.loads(parts[2])

with open(os.path.join(out_dir, "latest.json"), "w") as f:
    json.dump(results, f, indent=2, sort_keys=True)

cases = [("hello", "POST hello"), ("echo", "POST echo 1 KiB"), ("route", "GET route /users/:id")]
peers = [("hummingbird", "Hummingbird 2"), ("nginx", "nginx")]
kernel = results.get("kernel", {})
lines = ["| request | kernel req/s (p50 / p99 ms) | Hummingbird 2 req/s (p50 / p99) | nginx req/s (p50 / p99) | kernel ÷ Hummingbird | kernel ÷ nginx |",
         "|---|---|---|---|---|---|"]

def cell(r):
    if not r:
        return "n/a"
    return "%.0f (%.2f / %.2f)" % (r["rps"], r["p50_us"] / 1000, r["p99_us"] / 1000)

def ratio(a, b):
    return "%.2f×" % (a["rps"] / b["rps"]) if a and b else "n/a"

for key, title in cases:
    k = kernel.get(key)
    row = [title, cell(k)]
    row += [cell(results.get(p, {}).get(key)) for p, _ in peers]
    row += [ratio(k, results.get(p, {}).get(key)) for p, _ in peers]
    lines.append("| " + " | ".join(row) + " |")

reload = results.get("reload", {})
for key, title in [("plugin", "hello plugin reloaded 20 times"), ("http", "http plugin reloaded 5 times")]:
    r = reload.get(key)
    if r:
        lines.append("")
        lines.append("%s under load: %d requests, %d non-2xx, %d socket errors" % (title, r["requests"], r["non2xx"], r["socket_errors"]))
dispatch = results.get("dispatch", {}).get("micro")
if dispatch:
    lines.append("")
    lines.append("dispatch: %.0f ns per call through the kernel (3 middleware + C handler), %.0f ns direct Swift closures: %.0f ns overhead"
                 % (dispatch["kernel_ns"], dispatch["direct_ns"], dispatch["overhead_ns"]))
table = "\n".join(lines)
with open(os.path.join(out_dir, "latest.md"), "w") as f:
    f.write(table + "\n")
print(table)

try:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
except ImportError:
    print("matplotlib missing: no chart", file=sys.stderr)
    sys.exit(0)

targets = [("kernel", "kernel"), ("hummingbird", "Hummingbird 2"), ("nginx", "nginx")]
fig, ax = plt.subplots(figsize=(8, 4))
width = 0.26
for i, (target, label) in enumerate(targets):
    values = [results.get(target, {}).get(key, {}).get("rps", 0) for key, _ in cases]
    bars = ax.bar([x + (i - 1) * width for x in range(len(cases))], values, width, label=label)
    ax.bar_label(bars, labels=["%.0fk" % (v / 1000) if v else "n/a" for v in values], fontsize=8)
ax.set_xticks(range(len(cases)))
ax.set_xticklabels([title for _, title in cases])
ax.set_ylabel("requests/s (wrk -t1 -c64, loopback)")
ax.set_title("HTTP throughput, one run on the same machine")
ax.legend()
fig.tight_layout()
fig.savefig(os.path.join(out_dir, "http.png"), dpi=110)

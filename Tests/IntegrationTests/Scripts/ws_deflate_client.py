"""A real WebSocket client (the `websockets` library) against the ws transport.

Usage: ws_deflate_client.py PORT MAX_MESSAGE_SIZE
Prints one JSON object with what it saw; the Swift test asserts on it.
"""
import json
import sys

from websockets.sync.client import connect
from websockets.exceptions import ConnectionClosed

port, limit = int(sys.argv[1]), int(sys.argv[2])
url = f"ws://127.0.0.1:{port}/"
seen = {}

# 1. Negotiated, and a large, compressible message makes the round trip.
with connect(url, compression="deflate", max_size=None) as ws:
    seen["extensions"] = ws.response.headers.get("Sec-WebSocket-Extensions", "")
    text = "kernel " * 20000  # 140 KB, very compressible
    ws.send(json.dumps({"id": 1, "endpoint": "hello.echo", "payload": {"text": text}}))
    answer = json.loads(ws.recv())
    seen["echo_ok"] = answer.get("type") == "result" and answer["result"]["text"] == text
    # Many messages on one context: the compression window carries over.
    ok = 0
    for n in range(50):
        ws.send(json.dumps({"id": 100 + n, "endpoint": "greet", "payload": {"name": f"ada {n} " * 40}}))
        reply = json.loads(ws.recv())
        ok += reply.get("type") == "result" and reply["result"]["message"].startswith("hello, ada")
    seen["greets_ok"] = ok

# 2. Without compression offered: the server sends none.
with connect(url, compression=None) as ws:
    seen["plain_extensions"] = ws.response.headers.get("Sec-WebSocket-Extensions", "")
    ws.send(json.dumps({"id": 1, "endpoint": "hello"}))
    seen["plain_ok"] = json.loads(ws.recv()).get("type") == "result"

# 3. A message that inflates past max_message_size: closed with 1009, however small it was on the wire.
with connect(url, compression="deflate", max_size=None) as ws:
    bomb = json.dumps({"id": 1, "endpoint": "hello.echo", "payload": {"text": "a" * (limit * 2)}})
    ws.send(bomb)
    try:
        ws.recv()
        seen["bomb_close"] = None
    except ConnectionClosed as closed:
        seen["bomb_close"] = closed.rcvd.code if closed.rcvd else None

print(json.dumps(seen))

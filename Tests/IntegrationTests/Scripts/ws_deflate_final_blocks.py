"""A raw WebSocket client that ends each compressed message's deflate stream
(BFINAL set, as RFC 7692 section 7.2.3.4 allows), then checks that every
message is understood. Usage: ws_deflate_final_blocks.py PORT; prints JSON."""
import base64
import json
import os
import socket
import struct
import sys
import zlib

port = int(sys.argv[1])
sock = socket.create_connection(("127.0.0.1", port), timeout=10)
key = base64.b64encode(os.urandom(16)).decode()
sock.sendall((f"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
              f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
              f"Sec-WebSocket-Extensions: permessage-deflate\r\n\r\n").encode())
head = b""
while b"\r\n\r\n" not in head:
    head += sock.recv(4096)
head, rest = head.split(b"\r\n\r\n", 1)
buffer = rest


def send(payload):
    compressor = zlib.compressobj(wbits=-15)
    body = compressor.compress(payload) + compressor.flush(zlib.Z_FINISH)  # a whole stream: BFINAL set
    mask = os.urandom(4)
    header = bytes([0x80 | 0x40 | 0x1])  # FIN, RSV1 (compressed), text
    length = len(body)
    if length < 126:
        header += bytes([0x80 | length])
    elif length < 65536:
        header += bytes([0x80 | 126]) + struct.pack(">H", length)
    else:
        header += bytes([0x80 | 127]) + struct.pack(">Q", length)
    sock.sendall(header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(body)))


inflater = zlib.decompressobj(wbits=-15)


def receive():
    global buffer
    while True:
        while len(buffer) < 2:
            buffer += sock.recv(65536)
        first, second = buffer[0], buffer[1]
        length, offset = second & 0x7F, 2
        if length == 126:
            length, offset = struct.unpack(">H", buffer[2:4])[0], 4
        elif length == 127:
            length, offset = struct.unpack(">Q", buffer[2:10])[0], 10
        while len(buffer) < offset + length:
            buffer += sock.recv(65536)
        payload, buffer = buffer[offset:offset + length], buffer[offset + length:]
        if first & 0x0F != 0x1:
            continue
        if first & 0x40:
            payload = inflater.decompress(payload + b"\x00\x00\xff\xff")
        return json.loads(payload)


seen = {"extensions": [line.decode() for line in head.split(b"\r\n") if line.lower().startswith(b"sec-websocket-extensions")]}
answers = []
for n in range(1, 4):
    send(json.dumps({"id": n, "endpoint": "greet", "payload": {"name": f"final {n} " * 30}}).encode())
    answers.append(receive())
seen["results"] = [a.get("type") for a in answers]
seen["ids"] = [a.get("id") for a in answers]
print(json.dumps(seen))

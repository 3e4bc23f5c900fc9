#!/usr/bin/env python3
"""Prints a HS256 JWT for the middleware benchmark: sub=bench-user, iss=bench, aud=bench,
exp=now + 1 day, signed with the secret given as the first argument.

    TOKEN=$(python3 Benchmarks/middleware-bench/mint.py SECRET)
"""
import subprocess
import sys
import time

if len(sys.argv) != 2 or not sys.argv[1]:
    sys.exit("usage: mint.py SECRET")

try:
    import jwt
except ImportError:
    print("mint.py: installing PyJWT", file=sys.stderr)
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "pyjwt"], check=True)
    import jwt

now = int(time.time())
claims = {"sub": "bench-user", "iss": "bench", "aud": "bench", "exp": now + 86400}
token = jwt.encode(claims, sys.argv[1], algorithm="HS256")
print(token if isinstance(token, str) else token.decode())

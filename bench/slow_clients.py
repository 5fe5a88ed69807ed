#!/usr/bin/env python3
"""Slow clients against a running pinbridge, by hand.

Opens N connections that never finish their request headers (or, with --body, that send
headers and then trickle the body a byte at a time) and reports, every second, how many the
server still holds open, then whether an ordinary /healthz request still gets through.
With the default limits (server.header_read_timeout = 10s) every stalled connection is closed
after about 10 s; connections over server.max_connections are answered 503 at once.

    python3 bench/slow_clients.py --url http://127.0.0.1:8080 --clients 200 --seconds 30
"""

import argparse
import socket
import time
import urllib.parse
import urllib.request


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8080")
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--body", action="store_true", help="trickle a body instead of headers")
    args = parser.parse_args()
    target = urllib.parse.urlsplit(args.url)
    host, port = target.hostname, target.port or 80

    clients, refused = [], 0
    for _ in range(args.clients):
        s = socket.create_connection((host, port))
        if args.body:
            s.sendall(b"POST /hooks/none HTTP/1.1\r\nhost: x\r\ncontent-length: 100000\r\n\r\n")
        else:
            s.sendall(b"GET /healthz HTTP/1.1\r\nhost: x\r\nx-slow: ")
        s.setblocking(False)
        clients.append(s)

    start = time.monotonic()
    while clients and time.monotonic() - start < args.seconds:
        time.sleep(1)
        still = []
        for s in clients:
            try:
                data = s.recv(4096)
                if data.startswith(b"HTTP/1.1 503"):
                    refused += 1
                if not data:
                    s.close()
                    continue
            except BlockingIOError:
                pass
            except OSError:
                s.close()
                continue
            if args.body:
                try:
                    s.send(b"x")
                except OSError:
                    s.close()
                    continue
            still.append(s)
        clients = still
        print(f"{time.monotonic() - start:5.1f}s  open: {len(clients):5d}  refused with 503: {refused}")

    try:
        with urllib.request.urlopen(f"{args.url}/healthz", timeout=10) as answer:
            print(f"/healthz beside them: {answer.status}")
    except OSError as e:
        print(f"/healthz beside them failed: {e}")
    for s in clients:
        s.close()


if __name__ == "__main__":
    main()

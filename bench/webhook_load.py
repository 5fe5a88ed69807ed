#!/usr/bin/env python3
"""Load a running pinbridge's webhook receiver with signed Standard Webhooks deliveries.

Configure a source like
    [[sources]]
    id = "load"
    kind = "webhook"
    preset = "standard-webhooks"
    secret = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD"
    mapping = { id = "/id", title = "/title", image = "/image" }
then: python3 bench/webhook_load.py --url http://127.0.0.1:8080/hooks/load --count 5000 --concurrency 32

Every tenth delivery repeats an earlier delivery id (the duplicate path). Only loopback targets are
accepted; the run is bounded by --count and --max-seconds. Standard library only.
"""
import argparse
import base64
import hashlib
import hmac
import http.client
import ipaddress
import json
import socket
import sys
import threading
import time
import urllib.parse
from collections import Counter


def loopback(host):
    try:
        return all(ipaddress.ip_address(info[4][0]).is_loopback for info in socket.getaddrinfo(host, None))
    except (socket.gaierror, ValueError):
        return False


def sign(key, msg_id, ts, body):
    mac = hmac.new(key, f"{msg_id}.{ts}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--url", required=True)
    ap.add_argument("--secret", default="whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD")
    ap.add_argument("--count", type=int, default=2000)
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--max-seconds", type=float, default=120.0)
    ap.add_argument("--run-id", default=str(int(time.time())), help="makes ids unique per run")
    args = ap.parse_args()
    url = urllib.parse.urlsplit(args.url)
    if url.scheme != "http" or not url.hostname or not loopback(url.hostname):
        sys.exit("--url must be http:// on a loopback address (127.0.0.0/8, ::1, localhost)")
    if not 0 < args.count <= 1_000_000 or not 0 < args.concurrency <= 512:
        sys.exit("--count must be 1..1000000 and --concurrency 1..512")
    secret = args.secret.strip()
    key = base64.b64decode(secret[len("whsec_"):] if secret.startswith("whsec_") else secret)
    deadline = time.monotonic() + args.max_seconds
    next_index = iter(range(args.count))
    lock = threading.Lock()
    statuses, latencies = Counter(), []

    def worker():
        conn = http.client.HTTPConnection(url.hostname, url.port or 80, timeout=30)
        while time.monotonic() < deadline:
            with lock:
                i = next(next_index, None)
            if i is None:
                break
            n = i - 1 if i % 10 == 9 else i
            body = json.dumps({"id": f"{args.run_id}-{n}", "title": f"Load item {n}",
                               "image": f"https://img.example/{n}.jpg"}).encode()
            msg_id, ts = f"msg_{args.run_id}_{n}", int(time.time())
            headers = {"content-type": "application/json", "webhook-id": msg_id,
                       "webhook-timestamp": str(ts), "webhook-signature": sign(key, msg_id, ts, body)}
            started = time.perf_counter()
            try:
                conn.request("POST", url.path or "/", body, headers)
                response = conn.getresponse()
                answer = json.loads(response.read() or b"{}")
                label = f"{response.status} {answer.get('status') or answer.get('error', '')}"
            except (OSError, http.client.HTTPException, ValueError) as e:
                label = f"error {type(e).__name__}"
                conn.close()
                conn = http.client.HTTPConnection(url.hostname, url.port or 80, timeout=30)
            elapsed_ms = (time.perf_counter() - started) * 1000
            with lock:
                statuses[label] += 1
                latencies.append(elapsed_ms)
        conn.close()

    started = time.monotonic()
    threads = [threading.Thread(target=worker) for _ in range(args.concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - started
    latencies.sort()
    pct = lambda p: latencies[min(int(len(latencies) * p), len(latencies) - 1)] if latencies else 0.0
    print(json.dumps({"sent": len(latencies), "seconds": round(elapsed, 3),
                      "per_second": round(len(latencies) / elapsed, 1) if elapsed else None,
                      "p50_ms": round(pct(0.5), 2), "p99_ms": round(pct(0.99), 2),
                      "statuses": dict(statuses)}, indent=2))
    ok = sum(v for k, v in statuses.items() if k.startswith("200 "))
    sys.exit(0 if ok == len(latencies) else 1)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Write pre-signed Shopify products/create deliveries for wrk_replay.lua, one per line:
event id <TAB> X-Shopify-Hmac-Sha256 <TAB> JSON body. Every delivery has its own product id and
event id. Standard library only.

    python3 bench/make_requests.py --count 300000 --secret bench-secret --out bench/out/requests.tsv
"""
import argparse
import base64
import hashlib
import hmac
import json
import os


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=300000)
    ap.add_argument("--secret", default="bench-secret")
    ap.add_argument("--run-id", default="r1", help="prefix making ids unique per run")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    if not 0 < args.count <= 5_000_000:
        raise SystemExit("--count must be 1..5000000")
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    key = args.secret.encode()
    with open(args.out, "w") as out:
        for i in range(args.count):
            pid = 1_000_000 + i
            body = json.dumps({
                "id": pid, "title": f"Bench product {i}", "handle": f"bench-{pid}",
                "status": "active", "body_html": "A product used to measure webhook throughput.",
                "image": {"src": f"https://img.example/{pid}.jpg"},
            }, separators=(",", ":"))
            mac = base64.b64encode(hmac.new(key, body.encode(), hashlib.sha256).digest()).decode()
            out.write(f"ev-{args.run_id}-{i}\t{mac}\t{body}\n")


if __name__ == "__main__":
    main()

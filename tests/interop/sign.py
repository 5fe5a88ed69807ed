"""Sign webhook deliveries with the real sender libraries (tests/it/webhook_interop.rs).

Reads a JSON list of requests on stdin: {"lib", "secrets", "msg_id", "timestamp", "body"};
prints a JSON list of header objects, one per request. Several secrets = several signatures
in one header (Standard Webhooks rotation)."""
import json
import sys
from datetime import datetime, timezone


def sign(req):
    lib, body, ts = req["lib"], req["body"], int(req["timestamp"])
    when = datetime.fromtimestamp(ts, tz=timezone.utc)  # sign() wants an aware UTC datetime
    if lib in ("standardwebhooks", "svix"):
        if lib == "standardwebhooks":
            from standardwebhooks.webhooks import Webhook
            prefix = "webhook-"
        else:
            from svix.webhooks import Webhook
            prefix = req.get("prefix", "svix-")
        sigs = [Webhook(s).sign(req["msg_id"], when, body) for s in req["secrets"]]
        return {prefix + "id": req["msg_id"], prefix + "timestamp": str(ts), prefix + "signature": " ".join(sigs)}
    if lib == "stripe":
        import stripe
        header = stripe.WebhookSignature.generate_signature_header(body, req["secrets"][0], timestamp=ts)
        return {"Stripe-Signature": header}
    raise SystemExit(f"unknown lib {lib}")


json.dump([sign(r) for r in json.load(sys.stdin)], sys.stdout)

#!/usr/bin/env python3
"""A webhook receiver for the alert tests: answers --fail-code (503 by default, with
Retry-After) to the first
--fail-first attempts of every Idempotency-Key, then 200; logs every request as one JSON line
(key, status answered, event, body, whether the X-Backupctl-Signature is a valid HMAC-SHA256
of the body with the key in --hmac-file). Prints "listening on 127.0.0.1:PORT" when ready."""
import argparse
import hashlib
import hmac
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ap = argparse.ArgumentParser()
ap.add_argument("--port", type=int, default=0)
ap.add_argument("--log", required=True)
ap.add_argument("--fail-first", type=int, default=0)
ap.add_argument("--retry-after", type=int, default=1)
ap.add_argument("--fail-code", type=int, default=503)
ap.add_argument("--hmac-file")
args = ap.parse_args()
key = open(args.hmac_file, "rb").read().rstrip(b"\n") if args.hmac_file else None
seen = {}
lock = threading.Lock()


class H(BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(n)
        k = self.headers.get("Idempotency-Key", "")
        sig = self.headers.get("X-Backupctl-Signature", "")
        ok = None
        if key is not None:
            want = "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest()
            ok = hmac.compare_digest(want, sig)
        with lock:
            seen[k] = seen.get(k, 0) + 1
            status = args.fail_code if seen[k] <= args.fail_first else 200
            try:
                event = json.loads(body).get("event")
            except Exception:
                event = None
            with open(args.log, "a") as f:
                f.write(json.dumps({"key": k, "status": status, "attempt": seen[k], "event": event,
                                    "sig_ok": ok, "body": body.decode("utf-8", "replace"),
                                    "content_type": self.headers.get("Content-Type"),
                                    "team": self.headers.get("X-Team")}) + "\n")
        self.send_response(status)
        if status in (429, 503):
            self.send_header("Retry-After", str(args.retry_after))
        self.send_header("Content-Length", "0")
        self.end_headers()


srv = ThreadingHTTPServer(("127.0.0.1", args.port), H)
print("listening on 127.0.0.1:%d" % srv.server_address[1], flush=True)
try:
    srv.serve_forever()
except KeyboardInterrupt:
    pass

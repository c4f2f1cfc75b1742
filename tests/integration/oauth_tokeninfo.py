#!/usr/bin/env python3
"""A token-info endpoint of an OAuth 2.0 provider for the IMAP XOAUTH2 test: dovecot's oauth2
passdb GETs /tokeninfo?access_token=TOKEN; the token in --token-file answers 200 with the
user (--user) as "email", any other 401. Logs one line per request (the token's validity,
never the token) to --log. Prints "listening on 127.0.0.1:PORT" when ready."""
import argparse
import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

ap = argparse.ArgumentParser()
ap.add_argument("--port", type=int, default=0)
ap.add_argument("--token-file", required=True)
ap.add_argument("--user", required=True)
ap.add_argument("--log", required=True)
args = ap.parse_args()


class H(BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def do_GET(self):
        u = urlparse(self.path)
        tok = parse_qs(u.query).get("access_token", [""])[0]
        if not tok:  # dovecot may send the token as a Bearer header instead
            tok = self.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        want = open(args.token_file).read().strip()
        ok = u.path == "/tokeninfo" and tok == want
        with open(args.log, "a") as f:
            f.write(("valid" if ok else "invalid") + "\n")
        body = json.dumps({"email": args.user, "active": True} if ok else {"error": "invalid_token"}).encode()
        self.send_response(200 if ok else 401)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


srv = ThreadingHTTPServer(("127.0.0.1", args.port), H)
print("listening on 127.0.0.1:%d" % srv.server_address[1], flush=True)
srv.serve_forever()

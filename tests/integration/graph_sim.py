#!/usr/bin/env python3
"""A Microsoft Graph stand-in for the mail tests (issue 14): the tenant's token endpoint
(client credentials) and the part of Graph v1.0 a report mailbox needs, over folders that are
directories of ROOT (ROOT/inbox holds the Inbox; other directories are top-level folders by
display name). Messages are the files of a folder, oldest (mtime, name) first.

  POST /{tenant}/oauth2/v2.0/token                      client_credentials -> access_token
  GET  /v1.0/users/{mb}/mailFolders?$filter=displayName eq 'X'
  POST /v1.0/users/{mb}/mailFolders                      {"displayName"} -> 201 {"id"}
  GET  /v1.0/users/{mb}/mailFolders/{f}/messages?$top&$skiptoken  -> value, @odata.nextLink
  GET  /v1.0/users/{mb}/messages/{id}/$value             the raw MIME
  POST /v1.0/users/{mb}/messages/{id}/move               {"destinationId"} -> 201

Where Graph leaves a detail open, this varies it: pages hold at most --page-cap messages
whatever $top asks (Graph caps $top too), a nextLink comes even after an exact last page, and
ids are opaque with '=' and '-' in them. --throttle N answers the first N listings 429 with
Retry-After: 1. Every request is logged as one JSON line to --log (method, path, status; never
a secret). Prints "listening on 127.0.0.1:PORT" when ready."""
import argparse
import base64
import json
import os
import secrets
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlparse

ap = argparse.ArgumentParser()
ap.add_argument("--port", type=int, default=0)
ap.add_argument("--root", required=True)
ap.add_argument("--tenant", required=True)
ap.add_argument("--client-id", required=True)
ap.add_argument("--secret-file", required=True)
ap.add_argument("--mailbox", required=True)
ap.add_argument("--log", required=True)
ap.add_argument("--page-cap", type=int, default=7)
ap.add_argument("--throttle", type=int, default=0)
args = ap.parse_args()
lock = threading.RLock()
tokens = set()
state = {"throttle": args.throttle}
WELL_KNOWN = {"inbox": "inbox"}


def folder_dir(ref):
    """The directory of a folder reference (well-known name or id), or None."""
    name = WELL_KNOWN.get(ref.lower())
    if name is None and ref.startswith("AAMkFolder-"):
        name = base64.urlsafe_b64decode(ref[len("AAMkFolder-"):].encode()).decode()
    if name is None:
        return None
    d = os.path.join(args.root, name)
    return d if os.path.isdir(d) else None


def folder_id(name):
    return "AAMkFolder-" + base64.urlsafe_b64encode(name.encode()).decode()


def msg_id(folder, fname):
    return "AAMkAGI2-" + base64.urlsafe_b64encode(("%s/%s" % (folder, fname)).encode()).decode()


def msg_path(mid):
    if not mid.startswith("AAMkAGI2-"):
        return None
    try:
        rel = base64.urlsafe_b64decode(mid[len("AAMkAGI2-"):].encode()).decode()
    except Exception:
        return None
    if ".." in rel or rel.startswith("/"):
        return None
    p = os.path.join(args.root, rel)
    return p if os.path.isfile(p) else None


def listing(d):
    files = [f for f in os.listdir(d) if os.path.isfile(os.path.join(d, f))]
    return sorted(files, key=lambda f: (os.stat(os.path.join(d, f)).st_mtime, f))


class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def reply(self, code, obj=None, raw=None, ctype="application/json", extra=None):
        body = raw if raw is not None else (json.dumps(obj).encode() if obj is not None else b"")
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)
        with lock, open(args.log, "a") as f:
            f.write(json.dumps({"method": self.command, "path": urlparse(self.path).path,
                                "status": code}) + "\n")

    def body(self):
        n = int(self.headers.get("Content-Length", "0") or 0)
        return self.rfile.read(n) if n else b""

    def authed(self):
        auth = self.headers.get("Authorization", "")
        return auth.startswith("Bearer ") and auth[7:] in tokens

    def graph_path(self):
        """(rest of the path after /v1.0/users/{mb}, query) or None after replying."""
        u = urlparse(self.path)
        parts = [unquote(p) for p in u.path.split("/")]
        if len(parts) < 4 or parts[1] != "v1.0" or parts[2] != "users":
            self.reply(404, {"error": {"code": "ResourceNotFound"}})
            return None
        if not self.authed():
            self.reply(401, {"error": {"code": "InvalidAuthenticationToken"}})
            return None
        if parts[3].lower() != args.mailbox.lower():
            self.reply(404, {"error": {"code": "ErrorInvalidUser"}})
            return None
        return parts[4:], parse_qs(u.query)

    def do_POST(self):
        u = urlparse(self.path)
        if u.path == "/%s/oauth2/v2.0/token" % args.tenant:
            form = parse_qs(self.body().decode())
            want = open(args.secret_file).read().strip()
            ok = (form.get("grant_type") == ["client_credentials"]
                  and form.get("client_id") == [args.client_id]
                  and form.get("client_secret") == [want]
                  and form.get("scope") == ["https://graph.microsoft.com/.default"])
            if not ok:
                return self.reply(401, {"error": "invalid_client",
                                        "error_description": "AADSTS7000215: Invalid client secret provided."})
            tok = secrets.token_urlsafe(24)
            tokens.add(tok)
            return self.reply(200, {"token_type": "Bearer", "expires_in": 3599, "access_token": tok})
        gp = self.graph_path()
        if gp is None:
            return
        rest, _ = gp
        data = json.loads(self.body() or b"{}")
        if rest == ["mailFolders"]:
            name = data.get("displayName", "")
            if not name or "/" in name or name.lower() in WELL_KNOWN:
                return self.reply(400, {"error": {"code": "ErrorInvalidRequest"}})
            os.makedirs(os.path.join(args.root, name), exist_ok=True)
            return self.reply(201, {"id": folder_id(name), "displayName": name})
        if len(rest) == 3 and rest[0] == "messages" and rest[2] == "move":
            src = msg_path(rest[1])
            dest = folder_dir(data.get("destinationId", ""))
            if not src or not dest:
                return self.reply(404, {"error": {"code": "ErrorItemNotFound"}})
            os.rename(src, os.path.join(dest, os.path.basename(src)))
            return self.reply(201, {"id": msg_id(os.path.basename(dest), os.path.basename(src))})
        return self.reply(404, {"error": {"code": "ResourceNotFound"}})

    def do_GET(self):
        gp = self.graph_path()
        if gp is None:
            return
        rest, q = gp
        if rest == ["mailFolders"]:
            flt = q.get("$filter", [""])[0]
            want = flt[len("displayName eq '"):-1] if flt.startswith("displayName eq '") else None
            out = [{"id": folder_id(n), "displayName": n} for n in sorted(os.listdir(args.root))
                   if os.path.isdir(os.path.join(args.root, n)) and n not in WELL_KNOWN.values()
                   and (want is None or n == want)]
            return self.reply(200, {"value": out})
        if len(rest) == 3 and rest[0] == "mailFolders" and rest[2] == "messages":
            with lock:
                if state["throttle"] > 0:
                    state["throttle"] -= 1
                    return self.reply(429, {"error": {"code": "ApplicationThrottled"}},
                                      extra={"Retry-After": "1"})
            d = folder_dir(rest[1])
            if not d:
                return self.reply(404, {"error": {"code": "ErrorInvalidIdMalformed"}})
            top = min(int(q.get("$top", ["10"])[0]), args.page_cap)
            skip = int(q.get("$skiptoken", ["0"])[0])
            files = listing(d)
            page = files[skip:skip + top]
            out = {"value": [{"id": msg_id(os.path.basename(d), f)} for f in page]}
            if skip + top <= len(files):  # also after an exact last page
                base = "http://%s:%d" % self.server.server_address
                out["@odata.nextLink"] = "%s%s?%%24select=id&%%24top=%d&%%24skiptoken=%d" % (
                    base, urlparse(self.path).path, top, skip + top)
            return self.reply(200, out)
        if len(rest) == 3 and rest[0] == "messages" and rest[2] == "$value":
            p = msg_path(rest[1])
            if not p:
                return self.reply(404, {"error": {"code": "ErrorItemNotFound"}})
            return self.reply(200, raw=open(p, "rb").read(), ctype="text/plain")
        return self.reply(404, {"error": {"code": "ResourceNotFound"}})


srv = ThreadingHTTPServer(("127.0.0.1", args.port), H)
print("listening on 127.0.0.1:%d" % srv.server_address[1], flush=True)
srv.serve_forever()

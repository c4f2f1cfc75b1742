#!/usr/bin/python3
"""A real SMTP server for the alert e-mail tests (aiosmtpd, Debian's python3-aiosmtpd).

Listens on 127.0.0.1, port 0 by default, and prints "listening on 127.0.0.1:PORT" like the
project's simulators. STARTTLS (with --cert/--key) is required before MAIL and before AUTH;
AUTH PLAIN/LOGIN takes --user and the password in --password-file and is then required.
--no-starttls offers neither STARTTLS nor required AUTH (a plain relay); --rcpt-reply answers
every RCPT TO with the given reply (a 4xx or 5xx refusal). Each message is
saved as DIR/N.eml with its envelope in DIR/N.env (JSON: mail_from, rcpt_tos, user, tls).
"""
import argparse
import asyncio
import json
import os
import signal
import ssl
import sys

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


class Sink:
    def __init__(self, outdir):
        self.outdir = outdir
        self.n = 0
        self.rcpt_reply = None

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.rcpt_reply:
            return self.rcpt_reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.n += 1
        base = os.path.join(self.outdir, str(self.n))
        with open(base + ".eml.tmp", "wb") as f:
            f.write(envelope.original_content)
        user = None
        if session.authenticated and isinstance(session.auth_data, LoginPassword):
            user = session.auth_data.login.decode("utf-8", "replace")
        env = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "user": user,
            "tls": session.ssl is not None
            or server.transport.get_extra_info("ssl_object") is not None,
        }
        with open(base + ".env", "w") as f:
            json.dump(env, f)
        # the .eml appears last: a test that sees it sees the whole message
        os.rename(base + ".eml.tmp", base + ".eml")
        return "250 OK queued as %d" % self.n


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--dir", required=True)
    ap.add_argument("--cert")
    ap.add_argument("--key")
    ap.add_argument("--user")
    ap.add_argument("--password-file")
    ap.add_argument("--no-starttls", action="store_true")
    ap.add_argument("--implicit-tls", action="store_true", help="TLS from the first byte (smtps)")
    ap.add_argument("--rcpt-reply", help='answer every RCPT TO with this ("451 4.3.0 later")')
    a = ap.parse_args()

    password = None
    if a.password_file:
        with open(a.password_file, "rb") as f:
            password = f.read().rstrip(b"\n")

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = (
            isinstance(auth_data, LoginPassword)
            and a.user is not None
            and auth_data.login == a.user.encode()
            and auth_data.password == password
        )
        return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)

    tls = None
    if not a.no_starttls:
        if not (a.cert and a.key):
            ap.error("--cert and --key are required unless --no-starttls")
        tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls.load_cert_chain(a.cert, a.key)
    # implicit TLS: the listening socket does TLS, so the SMTP session offers no STARTTLS
    # (and cannot tell it is encrypted: AUTH is not made to wait for a STARTTLS)
    starttls = None if a.implicit_tls else tls

    handler = Sink(a.dir)
    handler.rcpt_reply = a.rcpt_reply
    with_auth = a.user is not None and not a.no_starttls

    def factory():
        return SMTP(
            handler,
            hostname="smtp-sink.test",
            tls_context=starttls,
            require_starttls=starttls is not None,
            auth_required=with_auth,
            auth_require_tls=starttls is not None,
            authenticator=authenticator,
        )

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    server = loop.run_until_complete(loop.create_server(factory, "127.0.0.1", a.port, ssl=tls if a.implicit_tls else None)
    )
    port = server.sockets[0].getsockname()[1]
    print("listening on 127.0.0.1:%d" % port, flush=True)
    for s in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(s, loop.stop)
    loop.run_forever()
    server.close()
    loop.run_until_complete(server.wait_closed())
    return 0


if __name__ == "__main__":
    sys.exit(main())

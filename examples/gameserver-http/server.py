#!/usr/bin/env python3
"""Reference receiver for gamegate's HTTP connector (game_server.kind = "http").

Python 3.9+, standard library only. Copy it into your game server, or read it as
the specification in code: docs/GAME_SERVER.md ("HTTP connector") is the contract.

    python3 server.py --listen 127.0.0.1:8090 --secret-file secret.txt --accounts accounts.json

What a receiver must do, in the order this file does it:

1. Verify the signature of every request, in constant time:
       X-Gamegate-Signature: t=<unix seconds>,v1=<hex HMAC-SHA-256(secret, "<t>.<op>.<body>")>
   where <op> is the endpoint's name ("register", "exists", ...) and <body> the exact
   bytes received. Refuse stale signatures (|now - t| > 300 s) with 401.
2. Refuse a replayed request (its request_id seen before) with 409 {"error":"replayed"}
   -- except a register whose Idempotency-Key is known: it gets the first answer again.
3. Act, and answer only once the change is durable.

Accounts live in a JSON file, replaced atomically (temporary file + rename) under one
lock, so concurrent requests are applied one at a time and a crash never leaves half a
file. That is fine for a reference and for small games; a real game server keeps
accounts in its own database and takes the same steps inside its own transaction.
"""

import argparse
import collections
import hashlib
import hmac
import json
import os
import secrets
import signal
import socket
import sys
import tempfile
import threading
import time
import unicodedata
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SIGNATURE_HEADER = "X-Gamegate-Signature"
IDEMPOTENCY_HEADER = "Idempotency-Key"
# A signature more than this many seconds from our clock, either way, is refused.
TOLERANCE_SECS = 300
# Request ids and idempotency keys are remembered this long: past it, a request that
# carries one has a stale signature and is refused anyway.
REMEMBER_SECS = 2 * TOLERANCE_SECS
# ... and at most this many of each; when full of younger entries, we answer 503 busy
# (having done nothing) rather than forget one early.
MAX_REMEMBERED = 100_000
MAX_BODY_BYTES = 64 * 1024
FIRST_ACCOUNT_ID = 1001
# Password storage of this reference: PBKDF2-SHA256. Replace it with your game's own.
PBKDF2_ITERATIONS = 100_000
ENDPOINTS = ("register", "exists", "delete", "set_password", "ping", "online")


def login_key(login):
    """The case-insensitive key of a login, exactly as gamegate computes it:
    NFC(lowercase(NFD(login))); plain ASCII lowercase for ASCII logins. Two logins
    with one key are one account -- `exists` and `register` must agree on this."""
    if login.isascii():
        return login.lower()
    return unicodedata.normalize("NFC", unicodedata.normalize("NFD", login).lower())


def verify_signature(secret, header, op, body, now):
    """True when `header` signs `body` for endpoint `op` with `secret` and is fresh."""
    if not header:
        return False
    t, candidates = None, []
    for part in header.split(","):
        key, sep, value = part.strip().partition("=")
        if not sep:
            return False
        if key == "t":
            if not value.isdigit():
                return False
            t = int(value)
        elif key == "v1":
            candidates.append(value)
    if t is None or not candidates or abs(now - t) > TOLERANCE_SECS:
        return False
    signed = str(t).encode() + b"." + op.encode() + b"." + body
    expected = hmac.new(secret, signed, hashlib.sha256).hexdigest()
    # compare_digest: the time taken does not tell an attacker how much matched.
    return any(hmac.compare_digest(expected, c.lower()) for c in candidates)


class Remembered:
    """A bounded map whose entries leave in arrival order once REMEMBER_SECS old."""

    def __init__(self):
        self.entries = collections.OrderedDict()  # key -> (stored_at, value)

    def expire(self, now):
        while self.entries:
            key, (at, _) = next(iter(self.entries.items()))
            if at + REMEMBER_SECS >= now:
                break
            del self.entries[key]

    def has_room(self, now):
        self.expire(now)
        return len(self.entries) < MAX_REMEMBERED

    def get(self, key):
        entry = self.entries.get(key)
        return None if entry is None else entry[1]

    def put(self, key, value, now):
        if key not in self.entries:
            self.entries[key] = (now, value)


class Store:
    """Accounts in a JSON file: {"next_id": N, "accounts": {key: {...}}}."""

    def __init__(self, path):
        self.path = os.path.abspath(path)
        self.lock = threading.Lock()
        self.seen = Remembered()  # request_id -> True
        self.keys = Remembered()  # idempotency key -> (login key, status, answer)
        try:
            with open(self.path, encoding="utf-8") as f:
                data = json.load(f)
        except FileNotFoundError:
            data = {"next_id": FIRST_ACCOUNT_ID, "accounts": {}}
        self.next_id = data["next_id"]
        self.accounts = data["accounts"]

    def save(self):
        """Writes the whole state to a temporary file and renames it over the old
        one: readers and a crash see the old file or the new one, never a mix."""
        directory = os.path.dirname(self.path)
        fd, tmp = tempfile.mkstemp(prefix=".accounts-", dir=directory)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump({"next_id": self.next_id, "accounts": self.accounts}, f)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise
        # The rename is done: the change is visible. Making the directory entry
        # durable is best effort; a failure here must not turn into "did nothing".
        try:
            dir_fd = os.open(directory, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
        except OSError:
            pass


def hash_password(password):
    salt = secrets.token_bytes(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, PBKDF2_ITERATIONS)
    return "pbkdf2_sha256${}${}${}".format(PBKDF2_ITERATIONS, salt.hex(), digest.hex())


def parse_request(op, body):
    """The request's fields, or None when the body is not a valid request for `op`."""
    try:
        request = json.loads(body)
    except ValueError:
        return None
    if not isinstance(request, dict):
        return None
    request_id = request.get("request_id")
    if not isinstance(request_id, str) or not 1 <= len(request_id) <= 64:
        return None

    def text(name):
        value = request.get(name)
        return isinstance(value, str) and value != ""

    if op in ("register", "exists", "delete", "set_password") and not text("login"):
        return None
    if op in ("register", "set_password") and not text("password"):
        return None
    if op == "register":
        gender = request.get("gender")
        if type(gender) is not int or gender not in (0, 1):
            return None
    return request


def execute(store, op, request):
    """Runs one operation under the store's lock: (status, answer). A change is on
    disk before the answer; if it cannot be saved, it is undone and the answer is
    500 internal -- which promises gamegate that nothing was done."""
    key = login_key(request.get("login", ""))
    if op == "register":
        if key in store.accounts:
            return 409, {"error": "login_taken"}
        account_id = store.next_id
        store.accounts[key] = {
            "login": request["login"],
            "id": account_id,
            "gender": request["gender"],
            "password": hash_password(request["password"]),
            "created_at": int(time.time()),
        }
        store.next_id += 1
        try:
            store.save()
        except OSError as e:
            del store.accounts[key]
            store.next_id -= 1
            print("cannot save the accounts file: {}".format(e), file=sys.stderr)
            return 500, {"error": "internal"}
        return 200, {"account_id": account_id}
    if op == "exists":
        # Exact: the whole state is in memory, read under the lock.
        return 200, {"exists": key in store.accounts}
    if op == "delete":
        account = store.accounts.pop(key, None)
        if account is None:
            return 200, {"deleted": False}
        try:
            store.save()
        except OSError:
            store.accounts[key] = account
            return 500, {"error": "internal"}
        return 200, {"deleted": True}
    if op == "set_password":
        account = store.accounts.get(key)
        if account is None:
            return 404, {"error": "not_found"}
        old = account["password"]
        account["password"] = hash_password(request["password"])
        try:
            store.save()
        except OSError:
            account["password"] = old
            return 500, {"error": "internal"}
        return 200, {"updated": True}
    if op == "ping":
        return 200, {"ok": True}
    # online: a reference server has no players; answer your game's count here.
    return 200, {"online": 0}


def handle(store, secret, op, headers, body):
    """The receiver's duties, in order: signature, body, then under the lock the
    idempotency key, the replay check, the caches' room, and the operation."""
    now = int(time.time())
    if not verify_signature(secret, headers.get(SIGNATURE_HEADER), op, body, now):
        return 401, {"error": "unauthorized"}
    request = parse_request(op, body)
    if request is None:
        return 400, {"error": "invalid"}
    idem = headers.get(IDEMPOTENCY_HEADER) if op == "register" else None
    if idem is not None and not 1 <= len(idem) <= 128:
        return 400, {"error": "invalid"}
    key = login_key(request.get("login", ""))
    with store.lock:
        if idem is not None:
            known = store.keys.get(idem)
            if known is not None:
                # A retry of a registration already answered: the same answer,
                # never a second account (nor a "login_taken" for our own account).
                known_login, status, answer = known
                if known_login != key:
                    return 422, {"error": "invalid"}
                store.seen.put(request["request_id"], True, now)
                return status, answer
        if store.seen.get(request["request_id"]) is not None:
            # This exact signed request came before (a replay, or a proxy's
            # retry): it may have run; gamegate treats this answer as "unknown".
            return 409, {"error": "replayed"}
        if not store.seen.has_room(now) or (idem is not None and not store.keys.has_room(now)):
            return 503, {"error": "busy"}
        store.seen.put(request["request_id"], True, now)
        status, answer = execute(store, op, request)
        if idem is not None and status != 500:
            store.keys.put(idem, (key, status, answer), now)
        return status, answer


class Handler(BaseHTTPRequestHandler):
    # HTTP/1.1: connections stay open between requests (gamegate keeps a pool).
    protocol_version = "HTTP/1.1"
    # Idle connections are closed after this many seconds (gamegate's pool drops
    # its idle ones after 20 s).
    timeout = 60
    server_version = "gamegate-reference-receiver"

    def do_POST(self):
        op = self.path.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]
        if op not in ENDPOINTS:
            self.discard_body()
            return self.answer(404, {"error": "not_found"})
        try:
            length = int(self.headers.get("Content-Length", ""))
        except ValueError:
            self.close_connection = True
            return self.answer(411, {"error": "invalid"})
        if not 0 <= length <= MAX_BODY_BYTES:
            self.close_connection = True
            return self.answer(413, {"error": "invalid"})
        body = self.rfile.read(length)
        try:
            status, answer = handle(self.server.store, self.server.secret, op, self.headers, body)
        except Exception as e:  # a bug here must not look like "did nothing" ...
            print("internal error on {}: {!r}".format(op, e), file=sys.stderr)
            # ... so no {"error":"internal"} (which promises that): a bare 500.
            self.close_connection = True
            return self.answer(500, None)
        self.answer(status, answer)

    def do_GET(self):
        self.answer(405, {"error": "invalid"})

    def discard_body(self):
        try:
            length = int(self.headers.get("Content-Length", "0"))
        except ValueError:
            length = 0
        if 0 < length <= MAX_BODY_BYTES:
            self.rfile.read(length)
        elif length:
            self.close_connection = True

    def answer(self, status, payload):
        data = b"" if payload is None else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, fmt, *args):
        # The request line and status only: never a body (it holds a password).
        if not self.server.quiet:
            sys.stderr.write("%s %s\n" % (self.address_string(), fmt % args))


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address, store, secret, max_connections, quiet):
        super().__init__(address, Handler)
        self.store, self.secret, self.quiet = store, secret, quiet
        # One thread per connection, at most this many: further connections wait
        # in the listen queue until one closes.
        self.slots = threading.BoundedSemaphore(max_connections)

    def process_request(self, request, client_address):
        self.slots.acquire()
        try:
            super().process_request(request, client_address)
        except BaseException:
            self.slots.release()
            raise

    def process_request_thread(self, request, client_address):
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.slots.release()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--listen", default="127.0.0.1:8090", help="IP:PORT (port 0: any)")
    parser.add_argument("--secret-file", required=True, help="file holding the signing secret")
    parser.add_argument("--accounts", default="accounts.json", help="the accounts file")
    parser.add_argument("--max-connections", type=int, default=64)
    parser.add_argument("--quiet", action="store_true", help="no line per request")
    args = parser.parse_args()

    with open(args.secret_file, "rb") as f:
        secret = f.read().rstrip(b"\r\n")
    if len(secret) < 16:
        sys.exit("the signing secret must be at least 16 characters")
    host, _, port = args.listen.rpartition(":")
    if ":" in host:  # [::1]:8090
        Server.address_family = socket.AF_INET6
    server = Server((host.strip("[]"), int(port)), Store(args.accounts), secret,
                    args.max_connections, args.quiet)
    bound = server.server_address
    print("listening on http://{}:{}".format(bound[0], bound[1]), flush=True)

    def stop(*_):
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    server.serve_forever()
    server.server_close()


if __name__ == "__main__":
    main()

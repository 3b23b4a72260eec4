#!/usr/bin/env python3
"""A reference game server for gamegate's protocol v1 (docs/GAME_SERVER.md).

Standard library only (Python 3.9+). It keeps accounts in a JSON file and is
written to be read, and copied into a real game server: replace the Accounts
class with your game's account storage and keep the rest as it is.

    python3 server.py --listen 127.0.0.1:5190 --token-file token.txt --accounts accounts.json

What must stay exact when you copy it (`gamegate gameserver check` tests each):

- `auth` first on every connection; the token compared in constant time.
- every reply carries its request's `id`, unchanged, in the order requests came;
- one connection carries request after request (gamegate keeps a pool);
- a line over 4096 bytes, or one that is not a valid request, is answered
  `invalid` and the connection is closed;
- logins are compared case-insensitively (case folding of the NFC form);
- `exists` answers `false` only when the account certainly does not exist:
  when the storage fails it answers `internal`, never `false`;
- an account is stored durably *before* `register` answers ok.
"""

import argparse
import asyncio
import hashlib
import hmac
import json
import logging
import os
import secrets
import signal
import sys
import tempfile
import time
import unicodedata

# At most this many bytes per line, not counting the line end ("\n", or "\r\n").
MAX_LINE_BYTES = 4096
# How long a connection closed for an invalid line keeps reading (and
# discarding) what the peer still sends, so the close does not turn into a
# reset that could destroy the `invalid` reply before the peer reads it.
LINGER_SECONDS = 0.2
# Request ids are unsigned 64-bit integers.
MAX_ID = 2**64 - 1
# PBKDF2 rounds for the stored password hashes (see Accounts.hash_password).
PBKDF2_ROUNDS = 100_000

log = logging.getLogger("gameserver-v1")


class StorageError(Exception):
    """The account storage failed: the request is answered `internal`."""


class Invalid(Exception):
    """The line is not a valid request: answered `invalid`, then the
    connection is closed. `request_id` is the line's id when it could be read."""

    def __init__(self, reason, request_id=0):
        super().__init__(reason)
        self.request_id = request_id


def login_key(login):
    """The key under which logins are unique: `Hero`, `hero` and `HERO` are one
    account, and so are canonically equivalent spellings (`é` as one code
    point or as `e` + U+0301). gamegate sends logins in NFC already; folding
    the case can leave a string that is not NFC, hence NFC on both sides."""
    return unicodedata.normalize("NFC", unicodedata.normalize("NFC", login).casefold())


class Accounts:
    """The accounts, in a JSON file rewritten atomically on every change.

    A real game server replaces this class with its own storage (its
    database, in a transaction). What must stay: a change is durable before
    the method returns, the in-memory view changes only after the write
    succeeded, and every failure raises StorageError (never a wrong answer).
    """

    def __init__(self, path):
        self.path = path
        # One writer at a time: check-and-insert of `register` is atomic.
        self.lock = asyncio.Lock()
        self.next_id = 1001
        self.by_key = {}
        self._load()

    def _load(self):
        try:
            with open(self.path, "r", encoding="utf-8") as f:
                data = json.load(f)
        except FileNotFoundError:
            return  # a new server: no accounts yet
        # Any other error stops the start (main() reports it): starting
        # empty would make `exists` answer false for every real account.
        self.next_id = int(data["next_id"])
        for record in data["accounts"]:
            # Keys are recomputed: case folding may change between Unicode
            # versions, the stored login never does.
            self.by_key[login_key(record["login"])] = record

    def _write(self, next_id, by_key):
        """Writes the whole file: a temporary file in the same directory,
        flushed to disk, then renamed over the old one (atomic on POSIX), then
        the directory flushed so the rename survives a power cut."""
        directory = os.path.dirname(os.path.abspath(self.path))
        data = {
            "version": 1,
            "next_id": next_id,
            "accounts": sorted(by_key.values(), key=lambda r: r["id"]),
        }
        fd, temp = tempfile.mkstemp(prefix=".accounts-", suffix=".tmp", dir=directory)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(data, f, ensure_ascii=False, indent=1)
                f.flush()
                os.fsync(f.fileno())
            os.chmod(temp, 0o600)  # password hashes: readable by the server only
            os.replace(temp, self.path)
            dir_fd = os.open(directory, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
        except Exception:  # a failed write leaves no temporary file behind
            try:
                os.unlink(temp)
            except OSError:
                pass
            raise

    async def _commit(self, next_id, by_key):
        """Writes the new state to disk (off the event loop), then makes it the
        one `exists` sees. Raises StorageError when the write fails."""
        try:
            await asyncio.to_thread(self._write, next_id, by_key)
        except OSError as e:
            raise StorageError(f"cannot write {self.path}: {e.strerror}") from e
        self.next_id, self.by_key = next_id, by_key

    @staticmethod
    def hash_password(password):
        """PBKDF2-SHA256 with a random salt. A real game stores whatever its
        own login check needs (an SRP6 verifier, bcrypt, ...), never the
        plaintext."""
        salt = secrets.token_bytes(16)
        digest = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, PBKDF2_ROUNDS)
        return f"pbkdf2_sha256${PBKDF2_ROUNDS}${salt.hex()}${digest.hex()}"

    def exists(self, login):
        """Whether the account exists. Raises StorageError when the storage
        cannot tell: the caller answers `internal`, never `false`."""
        return login_key(login) in self.by_key

    async def register(self, login, password, gender):
        """Creates the account and returns its id, or None when the login is
        taken (case-insensitively)."""
        password_hash = await asyncio.to_thread(self.hash_password, password)
        login = unicodedata.normalize("NFC", login)  # gamegate sends NFC; others may not
        async with self.lock:
            key = login_key(login)
            if key in self.by_key:
                return None
            account_id = self.next_id
            by_key = dict(self.by_key)
            by_key[key] = {
                "id": account_id,
                "login": login,
                "password": password_hash,
                "gender": gender,
                "created_at": int(time.time()),
            }
            await self._commit(account_id + 1, by_key)
            return account_id

    async def delete(self, login):
        """Removes the account; returns False (and does nothing) when it does
        not exist."""
        async with self.lock:
            key = login_key(login)
            if key not in self.by_key:
                return False
            by_key = dict(self.by_key)
            del by_key[key]
            await self._commit(self.next_id, by_key)
            return True

    async def set_password(self, login, password):
        """Replaces the password; returns False when the account does not exist."""
        password_hash = await asyncio.to_thread(self.hash_password, password)
        async with self.lock:
            key = login_key(login)
            if key not in self.by_key:
                return False
            by_key = dict(self.by_key)
            by_key[key] = dict(by_key[key], password=password_hash)
            await self._commit(self.next_id, by_key)
            return True


def field(request, name, kind, request_id):
    """The request's field `name`, which must be of `kind`."""
    value = request.get(name)
    # bool is an int in Python; JSON true is no gender and no id.
    if isinstance(value, bool) or not isinstance(value, kind):
        raise Invalid(f"field {name!r} missing or of the wrong type", request_id)
    if kind is str:
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate (\ud800) is no text
            raise Invalid(f"field {name!r} is not valid Unicode", request_id)
    return value


def unique_keys(pairs):
    """A JSON object whose keys are all different (a repeated key is refused,
    as gamegate's own parser refuses it)."""
    keys = [k for k, _ in pairs]
    if len(set(keys)) != len(keys):
        raise ValueError("repeated key")
    return dict(pairs)


def no_constant(name):
    """NaN and Infinity are not JSON."""
    raise ValueError(f"{name} is not JSON")


def parse_request(line):
    """The request of one line (its line end already removed), as
    (id, cmd, request); raises Invalid. Unknown extra fields are ignored."""
    if len(line) > MAX_LINE_BYTES:
        raise Invalid("line too long")
    try:
        request = json.loads(
            line.decode("utf-8"),
            object_pairs_hook=unique_keys,
            parse_constant=no_constant,
        )
    except (UnicodeDecodeError, ValueError, RecursionError):
        # RecursionError: thousands of nested brackets within the line limit.
        raise Invalid("not JSON")
    if not isinstance(request, dict):
        raise Invalid("not a JSON object")
    request_id = request.get("id")
    if isinstance(request_id, bool) or not isinstance(request_id, int) or not 0 <= request_id <= MAX_ID:
        raise Invalid("id missing or not an unsigned 64-bit integer")
    cmd = field(request, "cmd", str, request_id)
    if cmd == "auth":
        field(request, "token", str, request_id)
    elif cmd == "register":
        field(request, "login", str, request_id)
        field(request, "password", str, request_id)
        if field(request, "gender", int, request_id) not in (0, 1):
            raise Invalid("gender must be 0 or 1", request_id)
    elif cmd in ("exists", "delete"):
        field(request, "login", str, request_id)
    elif cmd == "set_password":
        field(request, "login", str, request_id)
        field(request, "password", str, request_id)
    elif cmd not in ("ping", "online"):
        raise Invalid("unknown command", request_id)
    return request_id, cmd, request


def reply(request_id, **fields):
    """One reply line: {"id":…,"ok":true,…}."""
    line = json.dumps({"id": request_id, "ok": True, **fields}, separators=(",", ":"))
    return (line + "\n").encode()


def error(request_id, code):
    """One error reply line: {"id":…,"ok":false,"error":code}."""
    line = json.dumps({"id": request_id, "ok": False, "error": code}, separators=(",", ":"))
    return (line + "\n").encode()


class Server:
    def __init__(self, token, accounts, max_connections, idle_timeout):
        self.token = token.encode("utf-8")
        self.accounts = accounts
        self.max_connections = max_connections
        self.idle_timeout = idle_timeout
        self.connections = 0
        self.online = 0  # authenticated connections; a real game counts players in the world

    def token_ok(self, token):
        # Constant time: the comparison takes as long for a near miss as for
        # a wild guess, so the token cannot be found byte by byte.
        return hmac.compare_digest(token.encode("utf-8"), self.token)

    async def handle(self, request_id, cmd, request, session):
        """The reply to one valid request. Storage failures become `internal`."""
        if cmd == "auth":
            ok = self.token_ok(request["token"])
            # A refused auth also de-authenticates an authenticated connection.
            if ok != session["authenticated"]:
                self.online += 1 if ok else -1
                session["authenticated"] = ok
            if not ok:
                log.info("refused an auth token from %s", session["peer"])
            return reply(request_id) if ok else error(request_id, "unauthorized")
        if not session["authenticated"]:
            return error(request_id, "unauthorized")
        try:
            if cmd == "register":
                account_id = await self.accounts.register(
                    request["login"], request["password"], request["gender"]
                )
                if account_id is None:
                    return error(request_id, "login_taken")
                log.info("created %r (id %d)", request["login"], account_id)
                return reply(request_id, account_id=account_id)
            if cmd == "exists":
                return reply(request_id, exists=self.accounts.exists(request["login"]))
            if cmd == "delete":
                if await self.accounts.delete(request["login"]):
                    log.info("deleted %r", request["login"])
                # ok also when there was no such account: deleting is undoing,
                # and an undo must be repeatable.
                return reply(request_id)
            if cmd == "set_password":
                if not await self.accounts.set_password(request["login"], request["password"]):
                    return error(request_id, "not_found")
                return reply(request_id)
            if cmd == "online":
                return reply(request_id, online=self.online)
            return reply(request_id)  # ping
        except Exception:
            # StorageError, or a bug: the command did not complete, so the
            # answer is `internal` — never `exists:false`, never a guess.
            log.exception("%s failed; answered internal", cmd)
            return error(request_id, "internal")

    async def serve(self, reader, writer):
        peer = writer.get_extra_info("peername")
        if self.connections >= self.max_connections:
            log.warning("connection limit (%d) reached: closing %s", self.max_connections, peer)
            writer.close()
            return
        self.connections += 1
        session = {"authenticated": False, "peer": peer}
        try:
            while True:
                try:
                    line = await asyncio.wait_for(reader.readuntil(b"\n"), self.idle_timeout)
                except asyncio.LimitOverrunError:
                    # Over MAX_LINE_BYTES (+1 for a "\r") without a line end:
                    # never buffer more of it.
                    await self.close_invalid(reader, writer, error(0, "invalid"))
                    return
                except (asyncio.IncompleteReadError, asyncio.TimeoutError, ConnectionError):
                    return  # closed by the peer, mid-line, or idle too long
                line = line[:-1]
                if line.endswith(b"\r"):
                    line = line[:-1]
                try:
                    request_id, cmd, request = parse_request(line)
                except Invalid as e:
                    log.info("invalid line from %s: %s; closing", peer, e)
                    await self.close_invalid(reader, writer, error(e.request_id, "invalid"))
                    return
                writer.write(await self.handle(request_id, cmd, request, session))
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            self.connections -= 1
            if session["authenticated"]:
                self.online -= 1
            writer.close()

    async def close_invalid(self, reader, writer, line):
        """Sends the `invalid` reply, half-closes, and drains the peer's input
        for a moment before closing (see LINGER_SECONDS)."""
        try:
            writer.write(line)
            await writer.drain()
            if writer.can_write_eof():
                writer.write_eof()

            async def drain_input():
                while await reader.read(4096):
                    pass

            await asyncio.wait_for(drain_input(), LINGER_SECONDS)
        except (asyncio.TimeoutError, ConnectionError, asyncio.LimitOverrunError):
            pass


def parse_listen(text):
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit():
        raise argparse.ArgumentTypeError(f"{text!r} is not HOST:PORT")
    return host.strip("[]") or "127.0.0.1", int(port)


async def main_async(args):
    try:
        with open(args.token_file, "r", encoding="utf-8") as f:
            token = f.read().strip("\r\n")
    except OSError as e:
        sys.exit(f"cannot read the token file {args.token_file}: {e.strerror}")
    if not token:
        sys.exit(f"the token file {args.token_file} is empty")
    try:
        accounts = Accounts(args.accounts)
    except (OSError, ValueError, KeyError, TypeError) as e:
        sys.exit(f"cannot read the accounts file {args.accounts}: {e}")
    server = Server(token, accounts, args.max_connections, args.idle_timeout)
    host, port = args.listen
    # `limit` bounds a line: the longest allowed content plus a "\r".
    listener = await asyncio.start_server(server.serve, host, port, limit=MAX_LINE_BYTES + 1)
    bound = listener.sockets[0].getsockname()
    shown = f"[{bound[0]}]:{bound[1]}" if ":" in bound[0] else f"{bound[0]}:{bound[1]}"
    print(f"gameserver-v1 listening on {shown}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
        except NotImplementedError:  # Windows
            pass
    async with listener:
        await stop.wait()
    log.info("stopped")


def main():
    parser = argparse.ArgumentParser(description="gamegate protocol v1 reference game server")
    parser.add_argument(
        "--listen", type=parse_listen, default=("127.0.0.1", 5190),
        help="HOST:PORT to listen on (default 127.0.0.1:5190; port 0 picks a free one)",
    )
    parser.add_argument(
        "--token-file", required=True,
        help="file holding game_server.auth_token (one line)",
    )
    parser.add_argument(
        "--accounts", default="accounts.json",
        help="the accounts file (default accounts.json; created on the first account)",
    )
    parser.add_argument(
        "--max-connections", type=int, default=256,
        help="connections served at once; more are closed at once (default 256)",
    )
    parser.add_argument(
        "--idle-timeout", type=float, default=300.0,
        help="seconds a connection may stay silent before it is closed (default 300)",
    )
    args = parser.parse_args()
    logging.basicConfig(
        level=logging.INFO, stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    asyncio.run(main_async(args))


if __name__ == "__main__":
    main()

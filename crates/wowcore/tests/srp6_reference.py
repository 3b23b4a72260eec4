#!/usr/bin/env python3
"""An independent SRP6 of the WoW 3.3.5 authentication, for gamegate's tests.

Written from the cores' sources (AzerothCore/TrinityCore
src/common/Cryptography/Authentication/SRP6.cpp, authserver AuthSession.cpp),
with nothing of gamegate's code: only hashlib and pow.

Reads a JSON list of cases on stdin, writes a JSON list of answers:
  {"op": "verifier", "user", "password", "salt"}            -> verifier hex
  {"op": "handshake", "user", "password", "salt", "verifier"} -> "ok" | "refused"
Hex strings are the bytes as stored in the auth database (little-endian numbers).
"""
import hashlib
import json
import os
import sys

N = int("894B645E89E1535BBDAD5B8B290650530801B18EBFBF5E8FAB3C82872A3E9BB7", 16)
G = 7
K = 3  # the multiplier k of SRP6 (not SRP6a) as WoW uses it


def sha1(*parts: bytes) -> bytes:
    h = hashlib.sha1()
    for p in parts:
        h.update(p)
    return h.digest()


def le(b: bytes) -> int:
    return int.from_bytes(b, "little")


def le32(n: int) -> bytes:
    return n.to_bytes(32, "little")


def upper_latin(s: str) -> bytes:
    """Utf8ToUpperOnlyLatin: a-z upper-cased, everything else kept."""
    return "".join(chr(ord(c) - 32) if "a" <= c <= "z" else c for c in s).encode()


def x_of(user: str, password: str, salt: bytes) -> int:
    return le(sha1(salt, sha1(upper_latin(user), b":", upper_latin(password))))


def verifier(user: str, password: str, salt: bytes) -> bytes:
    return le32(pow(G, x_of(user, password, salt), N))


def interleave(s: bytes) -> bytes:
    """SRP6::SHA1Interleave: hash the even and odd bytes of S (little-endian,
    leading zero bytes skipped in pairs) and interleave the two digests."""
    even, odd = s[0::2], s[1::2]
    p = 0
    while p < 32 and s[p] == 0:
        p += 1
    if p & 1:
        p += 1
    p //= 2
    h0, h1 = sha1(even[p:]), sha1(odd[p:])
    return bytes(b for pair in zip(h0, h1) for b in pair)


def handshake(user: str, password: str, salt: bytes, stored_verifier: bytes) -> str:
    """The client (knowing only user and password) against the server
    (knowing only the stored salt and verifier): M1 checked by the server,
    M2 checked by the client."""
    identity = sha1(upper_latin(user))
    ng = bytes(a ^ b for a, b in zip(sha1(le32(N)), sha1(bytes([G]))))
    # server: logon challenge
    v = le(stored_verifier)
    b = le(os.urandom(32))
    B = (pow(G, b, N) + K * v) % N
    # client: A, x, S, K, M1
    a = le(os.urandom(32))
    A = pow(G, a, N)
    u = le(sha1(le32(A), le32(B)))
    x = x_of(user, password, salt)
    s_client = pow((B - K * pow(G, x, N)) % N, a + u * x, N)
    k_client = interleave(le32(s_client))
    m1 = sha1(ng, identity, salt, le32(A), le32(B), k_client)
    # server: logon proof (SRP6::VerifyChallengeResponse)
    if A % N == 0:
        return "refused"
    s_server = pow(A * pow(v, u, N), b, N)
    k_server = interleave(le32(s_server))
    if sha1(ng, identity, salt, le32(A), le32(B), k_server) != m1:
        return "refused"
    m2 = sha1(le32(A), m1, k_server)
    # client: the server's proof
    return "ok" if m2 == sha1(le32(A), m1, k_client) else "refused"


def main() -> None:
    out = []
    for case in json.load(sys.stdin):
        salt = bytes.fromhex(case["salt"])
        if case["op"] == "verifier":
            out.append(verifier(case["user"], case["password"], salt).hex())
        else:
            out.append(handshake(case["user"], case["password"], salt, bytes.fromhex(case["verifier"])))
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()

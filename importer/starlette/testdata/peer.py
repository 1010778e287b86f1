# The real peer for the Starlette importer's tests: itsdangerous, driven the
# way Starlette's SessionMiddleware drives it. Reads one JSON request on
# stdin, writes one JSON answer on stdout.
#
#   {"mint": [{"secret": S, "session": {...}, "ts": N}, ...],
#    "raw":  [{"secret": S, "payload": B64TEXT, "ts": N}, ...],
#    "check": [{"secret": S, "cookie": C, "now": N, "max_age": M}, ...]}
#
# mint: what SessionMiddleware writes for a session at time ts:
#   TimestampSigner(str(secret_key)).sign(b64encode(json.dumps(session).encode("utf-8")))
# raw: the signer over arbitrary payload text (for signed junk).
# check: what SessionMiddleware reads at time now: "ok" with the session,
#   (as json.dumps text), "bad" when it would serve an empty session (BadSignature and its
#   subclasses), "crash" when it would fail the request (any other error).
import json
import sys
from base64 import b64decode, b64encode

import itsdangerous
from itsdangerous.exc import BadSignature


def signer(secret, now):
    class At(itsdangerous.TimestampSigner):
        def get_timestamp(self):
            return now

    return At(str(secret))


req = json.load(sys.stdin)
out = {"mint": [], "raw": [], "check": []}
for m in req.get("mint", []):
    data = b64encode(json.dumps(m["session"]).encode("utf-8"))
    out["mint"].append(signer(m["secret"], m["ts"]).sign(data).decode("utf-8"))
for m in req.get("raw", []):
    out["raw"].append(signer(m["secret"], m["ts"]).sign(m["payload"].encode("utf-8")).decode("utf-8"))
for c in req.get("check", []):
    s = signer(c["secret"], c["now"])
    try:
        data = s.unsign(c["cookie"].encode("utf-8"), max_age=c["max_age"])
    except BadSignature as e:
        out["check"].append({"result": "bad", "why": type(e).__name__})
        continue
    try:
        session = json.loads(b64decode(data))
    except Exception as e:
        out["check"].append({"result": "crash", "why": type(e).__name__})
        continue
    # As text: Python writes NaN, which is not JSON.
    out["check"].append({"result": "ok", "session": json.dumps(session)})
json.dump(out, sys.stdout)

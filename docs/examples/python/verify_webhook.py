# relayhub: Check a webhook's signature and age (Standard Webhooks).
# Python 3.10+, standard library only.
# Run: python verify_webhook.py   (checks a fixed sample and prints "valid")
# In Flask: verify_webhook(SECRET, request.headers["webhook-id"],
#     request.headers["webhook-timestamp"], request.headers["webhook-signature"],
#     request.get_data())
import base64
import hashlib
import hmac
import time

TOLERANCE_S = 5 * 60


def verify_webhook(
    secret: str,
    msg_id: str,
    timestamp: str,
    signatures: str,
    body: bytes,
    now: float | None = None,
) -> bool:
    """True if `body` (the raw request body) is signed with `secret` ("whsec_...")
    and was sent within 5 minutes of `now` (Unix seconds; default: the current time)."""
    if not (timestamp.isascii() and timestamp.isdigit()):
        return False
    if abs((time.time() if now is None else now) - int(timestamp)) > TOLERANCE_S:
        return False
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{msg_id}.{timestamp}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest())
    for item in signatures.split():
        version, _, signature = item.partition(",")
        if version == "v1" and hmac.compare_digest(signature.encode(), expected):
            return True
    return False


if __name__ == "__main__":
    # Self-check on the Standard Webhooks spec's test vector. `now` is the sample's own
    # time, which skips the 5-minute check: self-check only, the sample is from 2021.
    ok = verify_webhook(
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        "msg_p5jXN8AQM9LWM0D4loKWxJek",
        "1614265330",
        "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
        b'{"test": 2432232314}',
        now=1614265330,
    )
    print("valid" if ok else "invalid")
    raise SystemExit(0 if ok else 1)

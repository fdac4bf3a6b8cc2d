// relayhub: Check a webhook's signature and age (Standard Webhooks).
// Node 18+, no packages.
// Run: node verify_webhook.mjs   (checks a fixed sample and prints "valid")
// With Express, verify the raw body:
//   app.post("/hooks/relayhub", express.raw({ type: "*/*" }), (req, res) => {
//     const ok = verifyWebhook(secret, req.get("webhook-id"), req.get("webhook-timestamp"),
//       req.get("webhook-signature"), req.body);
//     ...
import { createHmac, timingSafeEqual } from "node:crypto";
import { fileURLToPath } from "node:url";

const TOLERANCE_S = 5 * 60;

// True if `body` (the raw request body, a Buffer or string) is signed with `secret`
// ("whsec_...") and was sent within 5 minutes of `now` (Unix seconds).
export function verifyWebhook(
  secret, msgId, timestamp, signatures, body, now = Date.now() / 1000,
) {
  if (!/^\d+$/.test(timestamp ?? "") || Math.abs(now - Number(timestamp)) > TOLERANCE_S) {
    return false;
  }
  const key = Buffer.from(secret.replace(/^whsec_/, ""), "base64");
  const hmac = createHmac("sha256", key).update(`${msgId}.${timestamp}.`).update(body);
  const expected = Buffer.from(hmac.digest("base64"));
  return (signatures ?? "").split(" ").some((item) => {
    const given = Buffer.from(item.slice(3));
    return (
      item.startsWith("v1,") &&
      given.length === expected.length &&
      timingSafeEqual(given, expected)
    );
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  // Self-check on the Standard Webhooks spec's test vector. `now` is the sample's own
  // time, which skips the 5-minute check: self-check only, the sample is from 2021.
  const ok = verifyWebhook(
    "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    "msg_p5jXN8AQM9LWM0D4loKWxJek",
    "1614265330",
    "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
    '{"test": 2432232314}',
    1614265330,
  );
  console.log(ok ? "valid" : "invalid");
  process.exitCode = ok ? 0 : 1;
}

# relayhub: Check a webhook's signature and age (Standard Webhooks).
# Ruby 3.0+, standard library only.
# Run: ruby verify_webhook.rb   (checks a fixed sample and prints "valid")
# In Rails: verify_webhook(secret, request.headers["webhook-id"],
#   request.headers["webhook-timestamp"], request.headers["webhook-signature"],
#   request.raw_post)
require "openssl"

TOLERANCE_S = 5 * 60

# True if body (the raw request body) is signed with secret ("whsec_...") and was sent
# within 5 minutes of now (Unix seconds; default: the current time).
def verify_webhook(secret, msg_id, timestamp, signatures, body, now: Time.now.to_i)
  return false unless timestamp.to_s.match?(/\A\d+\z/)
  return false if (now - timestamp.to_i).abs > TOLERANCE_S

  key = secret.delete_prefix("whsec_").unpack1("m0") # strict Base64
  digest = OpenSSL::HMAC.digest("SHA256", key, "#{msg_id}.#{timestamp}.#{body}")
  expected = [digest].pack("m0")
  signatures.to_s.split(" ").any? do |item|
    item.start_with?("v1,") && OpenSSL.secure_compare(item.delete_prefix("v1,"), expected)
  end
end

if __FILE__ == $PROGRAM_NAME
  # Self-check on the Standard Webhooks spec's test vector. `now` is the sample's own
  # time, which skips the 5-minute check: self-check only, the sample is from 2021.
  ok = verify_webhook(
    "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    "msg_p5jXN8AQM9LWM0D4loKWxJek",
    "1614265330",
    "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
    '{"test": 2432232314}',
    now: 1614265330
  )
  puts ok ? "valid" : "invalid"
  exit(ok ? 0 : 1)
end

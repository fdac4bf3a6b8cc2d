#!/bin/sh
# relayhub: Check a webhook's signature and age (Standard Webhooks).
# With openssl, e.g. for a delivery you saved.
# Run: sh verify_webhook.sh   (checks a fixed sample and prints "valid")
set -euf

# verify_webhook SECRET WEBHOOK_ID WEBHOOK_TIMESTAMP WEBHOOK_SIGNATURE [NOW] < raw_body
# Succeeds if the raw body on stdin is signed with SECRET ("whsec_...") and was sent
# within 5 minutes of NOW (Unix seconds; default: the current time).
verify_webhook() {
  now=${5:-$(date +%s)}
  case $3 in '' | *[!0-9]*) return 1 ;; esac
  [ $((now - $3)) -le 300 ] && [ $(($3 - now)) -le 300 ] || return 1
  key=$(printf '%s' "${1#whsec_}" | base64 -d | od -An -v -tx1 | tr -d ' \n')
  expected=$({ printf '%s.%s.' "$2" "$3"; cat; } |
    openssl dgst -sha256 -mac HMAC -macopt "hexkey:$key" -binary | base64)
  for item in $4; do
    # A shell cannot compare strings in constant time: compare HMACs of the two
    # values instead, so the time the comparison takes tells an attacker nothing.
    case $item in
      v1,*) [ "$(mac_of "${item#v1,}")" = "$(mac_of "$expected")" ] && return 0 ;;
    esac
  done
  return 1
}

mac_of() {
  printf '%s' "$1" | openssl dgst -sha256 -mac HMAC -macopt "hexkey:$key"
}

# Self-check on the Standard Webhooks spec's test vector. The last argument (NOW) is
# the sample's own time, which skips the 5-minute check: self-check only, the sample
# is from 2021. Leave NOW out for real deliveries.
if printf '%s' '{"test": 2432232314}' | verify_webhook \
  'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' 'msg_p5jXN8AQM9LWM0D4loKWxJek' \
  '1614265330' 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=' 1614265330; then
  echo valid
else
  echo invalid
  exit 1
fi

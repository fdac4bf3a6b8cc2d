#!/bin/sh
# relayhub: Check the code the user typed (POST /api/v1/otp/verify).
# Run: RELAYHUB_TOKEN=rh_... OTP_ID=otp_... OTP_CODE=123456 sh verify_otp.sh
set -eu
RELAYHUB_URL="${RELAYHUB_URL:-http://127.0.0.1:8080}"

answer=$(curl -sS "$RELAYHUB_URL/api/v1/otp/verify" \
  -H "Authorization: Bearer $RELAYHUB_TOKEN" \
  -H 'Content-Type: application/json' \
  -d "{\"otp_id\": \"$OTP_ID\", \"code\": \"$OTP_CODE\"}")
printf '%s\n' "$answer"
# `valid` is true only for the right code, in time, the first time. Decide on it,
# not on `ok` or the HTTP status: a wrong code is a valid request, answered 200.
# The hub writes JSON without spaces; with jq: jq -e '.valid == true'.
case $answer in
  *'"valid":true'*) echo valid ;;
  *) echo "not valid" ;;
esac

#!/bin/sh
# relayhub: Send a one-time code by SMS (POST /api/v1/otp/send).
# Run: RELAYHUB_TOKEN=rh_... sh send_otp.sh
set -eu
RELAYHUB_URL="${RELAYHUB_URL:-http://127.0.0.1:8080}"

answer=$(curl -sS "$RELAYHUB_URL/api/v1/otp/send" \
  -H "Authorization: Bearer $RELAYHUB_TOKEN" \
  -H 'Content-Type: application/json' \
  -d '{"to": "+998901234567", "purpose": "login"}')
printf '%s\n' "$answer"

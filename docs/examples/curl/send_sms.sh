#!/bin/sh
# relayhub: Queue one SMS (POST /api/v1/sms/send).
# Run: RELAYHUB_TOKEN=rh_... sh send_sms.sh
set -eu
RELAYHUB_URL="${RELAYHUB_URL:-http://127.0.0.1:8080}"

answer=$(curl -sS "$RELAYHUB_URL/api/v1/sms/send" \
  -H "Authorization: Bearer $RELAYHUB_TOKEN" \
  -H 'Content-Type: application/json' \
  -d '{"to": "+998901234567", "text": "Salom from relayhub"}')
printf '%s\n' "$answer"

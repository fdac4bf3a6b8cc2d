#!/bin/sh
# relayhub: What happened to a message (GET /api/v1/messages/status).
# Run: RELAYHUB_TOKEN=rh_... REQUEST_ID=req_... sh message_status.sh
set -eu
RELAYHUB_URL="${RELAYHUB_URL:-http://127.0.0.1:8080}"

curl -sS -w '\n' -G "$RELAYHUB_URL/api/v1/messages/status" \
  -H "Authorization: Bearer $RELAYHUB_TOKEN" \
  --data-urlencode "request_id=$REQUEST_ID"

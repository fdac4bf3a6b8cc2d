# relayhub: What happened to a message (GET /api/v1/messages/status).
# Needs httpx (pip install httpx). Run:
#     RELAYHUB_TOKEN=rh_... REQUEST_ID=req_... python message_status.py
import os

import httpx

url = os.environ.get("RELAYHUB_URL", "http://127.0.0.1:8080")
token = os.environ["RELAYHUB_TOKEN"]
headers = {"Authorization": f"Bearer {token}"}

params = {"request_id": os.environ["REQUEST_ID"]}
response = httpx.get(f"{url}/api/v1/messages/status", params=params, headers=headers)
print(response.text)

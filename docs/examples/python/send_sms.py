# relayhub: Queue one SMS (POST /api/v1/sms/send).
# Needs httpx (pip install httpx). Run:
#     RELAYHUB_TOKEN=rh_... python send_sms.py
import os

import httpx

url = os.environ.get("RELAYHUB_URL", "http://127.0.0.1:8080")
token = os.environ["RELAYHUB_TOKEN"]
headers = {"Authorization": f"Bearer {token}"}

body = {"to": "+998901234567", "text": "Salom from relayhub"}
response = httpx.post(f"{url}/api/v1/sms/send", json=body, headers=headers)
print(response.text)

# relayhub: Send a one-time code by SMS (POST /api/v1/otp/send).
# Needs httpx (pip install httpx). Run:
#     RELAYHUB_TOKEN=rh_... python send_otp.py
import os

import httpx

url = os.environ.get("RELAYHUB_URL", "http://127.0.0.1:8080")
token = os.environ["RELAYHUB_TOKEN"]
headers = {"Authorization": f"Bearer {token}"}

body = {"to": "+998901234567", "purpose": "login"}
response = httpx.post(f"{url}/api/v1/otp/send", json=body, headers=headers)
print(response.text)

# relayhub: Check the code the user typed (POST /api/v1/otp/verify).
# Needs httpx (pip install httpx). Run:
#     RELAYHUB_TOKEN=rh_... OTP_ID=otp_... OTP_CODE=123456 python verify_otp.py
import os

import httpx

url = os.environ.get("RELAYHUB_URL", "http://127.0.0.1:8080")
token = os.environ["RELAYHUB_TOKEN"]
headers = {"Authorization": f"Bearer {token}"}

body = {
    "otp_id": os.environ["OTP_ID"],
    "code": os.environ["OTP_CODE"],
}
response = httpx.post(f"{url}/api/v1/otp/verify", json=body, headers=headers)
print(response.text)
# `valid` is true only for the right code, in time, the first time. Decide on it,
# not on `ok` or the HTTP status: a wrong code is a valid request, answered 200.
print("valid" if response.json().get("valid") is True else "not valid")

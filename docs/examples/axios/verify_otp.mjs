// relayhub: Check the code the user typed (POST /api/v1/otp/verify).
// Needs axios (npm install axios). Run:
//     RELAYHUB_TOKEN=rh_... OTP_ID=otp_... OTP_CODE=123456 node verify_otp.mjs
import axios from "axios";

const relayhub = axios.create({
  baseURL: process.env.RELAYHUB_URL || "http://127.0.0.1:8080",
  headers: { Authorization: `Bearer ${process.env.RELAYHUB_TOKEN}` },
  validateStatus: () => true, // give back error answers (4xx, 5xx) instead of throwing
});

const body = { otp_id: process.env.OTP_ID, code: process.env.OTP_CODE };
const response = await relayhub.post("/api/v1/otp/verify", body);
console.log(JSON.stringify(response.data));
// `valid` is true only for the right code, in time, the first time. Decide on it,
// not on `ok` or the HTTP status: a wrong code is a valid request, answered 200.
console.log(response.data.valid === true ? "valid" : "not valid");

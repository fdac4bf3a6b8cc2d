// relayhub: Check the code the user typed (POST /api/v1/otp/verify).
// Node 18+, no packages. Run:
//     RELAYHUB_TOKEN=rh_... OTP_ID=otp_... OTP_CODE=123456 node verify_otp.mjs
const url = process.env.RELAYHUB_URL || "http://127.0.0.1:8080";
const token = process.env.RELAYHUB_TOKEN;

const body = { otp_id: process.env.OTP_ID, code: process.env.OTP_CODE };
const response = await fetch(`${url}/api/v1/otp/verify`, {
  method: "POST",
  headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
  body: JSON.stringify(body),
});
const answer = await response.text();
console.log(answer);
// `valid` is true only for the right code, in time, the first time. Decide on it,
// not on `ok` or the HTTP status: a wrong code is a valid request, answered 200.
console.log(JSON.parse(answer).valid === true ? "valid" : "not valid");

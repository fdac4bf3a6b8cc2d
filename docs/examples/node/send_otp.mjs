// relayhub: Send a one-time code by SMS (POST /api/v1/otp/send).
// Node 18+, no packages. Run:
//     RELAYHUB_TOKEN=rh_... node send_otp.mjs
const url = process.env.RELAYHUB_URL || "http://127.0.0.1:8080";
const token = process.env.RELAYHUB_TOKEN;

const body = { to: "+998901234567", purpose: "login" };
const response = await fetch(`${url}/api/v1/otp/send`, {
  method: "POST",
  headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
  body: JSON.stringify(body),
});
const answer = await response.text();
console.log(answer);

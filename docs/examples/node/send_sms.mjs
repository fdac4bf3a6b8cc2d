// relayhub: Queue one SMS (POST /api/v1/sms/send).
// Node 18+, no packages. Run:
//     RELAYHUB_TOKEN=rh_... node send_sms.mjs
const url = process.env.RELAYHUB_URL || "http://127.0.0.1:8080";
const token = process.env.RELAYHUB_TOKEN;

const body = { to: "+998901234567", text: "Salom from relayhub" };
const response = await fetch(`${url}/api/v1/sms/send`, {
  method: "POST",
  headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
  body: JSON.stringify(body),
});
const answer = await response.text();
console.log(answer);

// relayhub: What happened to a message (GET /api/v1/messages/status).
// Node 18+, no packages. Run:
//     RELAYHUB_TOKEN=rh_... REQUEST_ID=req_... node message_status.mjs
const url = process.env.RELAYHUB_URL || "http://127.0.0.1:8080";
const token = process.env.RELAYHUB_TOKEN;

const query = new URLSearchParams({ request_id: process.env.REQUEST_ID });
const response = await fetch(`${url}/api/v1/messages/status?${query}`, {
  headers: { Authorization: `Bearer ${token}` },
});
console.log(await response.text());

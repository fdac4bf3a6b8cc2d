// relayhub: What happened to a message (GET /api/v1/messages/status).
// Needs axios (npm install axios). Run:
//     RELAYHUB_TOKEN=rh_... REQUEST_ID=req_... node message_status.mjs
import axios from "axios";

const relayhub = axios.create({
  baseURL: process.env.RELAYHUB_URL || "http://127.0.0.1:8080",
  headers: { Authorization: `Bearer ${process.env.RELAYHUB_TOKEN}` },
  validateStatus: () => true, // give back error answers (4xx, 5xx) instead of throwing
});

const params = { request_id: process.env.REQUEST_ID };
const response = await relayhub.get("/api/v1/messages/status", { params });
console.log(JSON.stringify(response.data));

// relayhub: Send a one-time code by SMS (POST /api/v1/otp/send).
// Needs axios (npm install axios). Run:
//     RELAYHUB_TOKEN=rh_... node send_otp.mjs
import axios from "axios";

const relayhub = axios.create({
  baseURL: process.env.RELAYHUB_URL || "http://127.0.0.1:8080",
  headers: { Authorization: `Bearer ${process.env.RELAYHUB_TOKEN}` },
  validateStatus: () => true, // give back error answers (4xx, 5xx) instead of throwing
});

const body = { to: "+998901234567", purpose: "login" };
const response = await relayhub.post("/api/v1/otp/send", body);
console.log(JSON.stringify(response.data));

# relayhub: Check the code the user typed (POST /api/v1/otp/verify).
# Standard library only. Run:
#     RELAYHUB_TOKEN=rh_... OTP_ID=otp_... OTP_CODE=123456 ruby verify_otp.rb
require "json"
require "net/http"

url = ENV.fetch("RELAYHUB_URL", "http://127.0.0.1:8080")
token = ENV.fetch("RELAYHUB_TOKEN")

body = { otp_id: ENV.fetch("OTP_ID"), code: ENV.fetch("OTP_CODE") }
headers = { "Authorization" => "Bearer #{token}", "Content-Type" => "application/json" }
response = Net::HTTP.post(URI("#{url}/api/v1/otp/verify"), body.to_json, headers)
puts response.body
# `valid` is true only for the right code, in time, the first time. Decide on it,
# not on `ok` or the HTTP status: a wrong code is a valid request, answered 200.
puts JSON.parse(response.body)["valid"] == true ? "valid" : "not valid"

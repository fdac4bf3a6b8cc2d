# relayhub: Send a one-time code by SMS (POST /api/v1/otp/send).
# Standard library only. Run:
#     RELAYHUB_TOKEN=rh_... ruby send_otp.rb
require "json"
require "net/http"

url = ENV.fetch("RELAYHUB_URL", "http://127.0.0.1:8080")
token = ENV.fetch("RELAYHUB_TOKEN")

body = { to: "+998901234567", purpose: "login" }
headers = { "Authorization" => "Bearer #{token}", "Content-Type" => "application/json" }
response = Net::HTTP.post(URI("#{url}/api/v1/otp/send"), body.to_json, headers)
puts response.body

# relayhub: What happened to a message (GET /api/v1/messages/status).
# Standard library only. Run:
#     RELAYHUB_TOKEN=rh_... REQUEST_ID=req_... ruby message_status.rb
require "json"
require "net/http"

url = ENV.fetch("RELAYHUB_URL", "http://127.0.0.1:8080")
token = ENV.fetch("RELAYHUB_TOKEN")

uri = URI("#{url}/api/v1/messages/status")
uri.query = URI.encode_www_form(request_id: ENV.fetch("REQUEST_ID"))
request = Net::HTTP::Get.new(uri, "Authorization" => "Bearer #{token}")
response = Net::HTTP.start(uri.hostname, uri.port, use_ssl: uri.scheme == "https") do |http|
  http.request(request)
end
puts response.body

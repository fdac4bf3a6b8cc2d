// relayhub: Check the code the user typed (POST /api/v1/otp/verify).
// .NET 6+: `dotnet new console`, replace Program.cs with this file, then run:
//     RELAYHUB_TOKEN=rh_... OTP_ID=otp_... OTP_CODE=123456 dotnet run
using System;
using System.Net.Http;
using System.Net.Http.Headers;
using System.Net.Http.Json;

var url = Environment.GetEnvironmentVariable("RELAYHUB_URL") ?? "http://127.0.0.1:8080";
var token = Environment.GetEnvironmentVariable("RELAYHUB_TOKEN");

using var http = new HttpClient { BaseAddress = new Uri(url) };
http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);

var body = new {
    otp_id = Environment.GetEnvironmentVariable("OTP_ID"),
    code = Environment.GetEnvironmentVariable("OTP_CODE"),
};
var response = await http.PostAsJsonAsync("/api/v1/otp/verify", body);
var answer = await response.Content.ReadAsStringAsync();
Console.WriteLine(answer);
// `valid` is true only for the right code, in time, the first time. Decide on it,
// not on `ok` or the HTTP status: a wrong code is a valid request, answered 200.
using var json = System.Text.Json.JsonDocument.Parse(answer);
var valid = json.RootElement.TryGetProperty("valid", out var v)
    && v.ValueKind == System.Text.Json.JsonValueKind.True;
Console.WriteLine(valid ? "valid" : "not valid");

// relayhub: Queue one SMS (POST /api/v1/sms/send).
// .NET 6+: `dotnet new console`, replace Program.cs with this file, then run:
//     RELAYHUB_TOKEN=rh_... dotnet run
using System;
using System.Net.Http;
using System.Net.Http.Headers;
using System.Net.Http.Json;

var url = Environment.GetEnvironmentVariable("RELAYHUB_URL") ?? "http://127.0.0.1:8080";
var token = Environment.GetEnvironmentVariable("RELAYHUB_TOKEN");

using var http = new HttpClient { BaseAddress = new Uri(url) };
http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);

var body = new { to = "+998901234567", text = "Salom from relayhub" };
var response = await http.PostAsJsonAsync("/api/v1/sms/send", body);
var answer = await response.Content.ReadAsStringAsync();
Console.WriteLine(answer);

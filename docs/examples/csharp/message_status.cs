// relayhub: What happened to a message (GET /api/v1/messages/status).
// .NET 6+: `dotnet new console`, replace Program.cs with this file, then run:
//     RELAYHUB_TOKEN=rh_... REQUEST_ID=req_... dotnet run
using System;
using System.Net.Http;
using System.Net.Http.Headers;
using System.Net.Http.Json;

var url = Environment.GetEnvironmentVariable("RELAYHUB_URL") ?? "http://127.0.0.1:8080";
var token = Environment.GetEnvironmentVariable("RELAYHUB_TOKEN");

using var http = new HttpClient { BaseAddress = new Uri(url) };
http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);

var requestId = Environment.GetEnvironmentVariable("REQUEST_ID") ?? "";
var path = "/api/v1/messages/status?request_id=" + Uri.EscapeDataString(requestId);
var response = await http.GetAsync(path);
Console.WriteLine(await response.Content.ReadAsStringAsync());

// relayhub: Check a webhook's signature and age (Standard Webhooks).
// .NET 6+, no packages.
// Run: `dotnet new console`, replace Program.cs with this file, `dotnet run` (prints "valid").
// In ASP.NET Core, pass the raw body (Request.EnableBuffering(), then read Request.Body)
// and the webhook-id, webhook-timestamp and webhook-signature headers.
using System;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;

// Self-check on the Standard Webhooks spec's test vector. `now` is the sample's own
// time, which skips the 5-minute check: self-check only, the sample is from 2021.
var ok = Webhooks.Verify(
    "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    "msg_p5jXN8AQM9LWM0D4loKWxJek",
    "1614265330",
    "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
    Encoding.UTF8.GetBytes("{\"test\": 2432232314}"),
    now: 1614265330);
Console.WriteLine(ok ? "valid" : "invalid");
return ok ? 0 : 1;

static class Webhooks
{
    const long ToleranceS = 5 * 60;

    /// <summary>True if body (the raw request body) is signed with secret ("whsec_...")
    /// and was sent within 5 minutes of now (Unix seconds; default: the current time).</summary>
    public static bool Verify(string secret, string msgId, string timestamp, string signatures,
        byte[] body, long? now = null)
    {
        if (!Regex.IsMatch(timestamp, @"^[0-9]{1,18}\z")) return false;
        var current = now ?? DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        if (Math.Abs(current - long.Parse(timestamp)) > ToleranceS) return false;
        var key = Convert.FromBase64String(secret.StartsWith("whsec_") ? secret[6..] : secret);
        using var hmac = IncrementalHash.CreateHMAC(HashAlgorithmName.SHA256, key);
        hmac.AppendData(Encoding.UTF8.GetBytes($"{msgId}.{timestamp}."));
        hmac.AppendData(body);
        var expected = Encoding.UTF8.GetBytes(Convert.ToBase64String(hmac.GetHashAndReset()));
        foreach (var item in signatures.Split(' '))
        {
            var given = Encoding.UTF8.GetBytes(item.Length > 3 ? item[3..] : "");
            if (item.StartsWith("v1,")
                && CryptographicOperations.FixedTimeEquals(given, expected))
            {
                return true;
            }
        }
        return false;
    }
}

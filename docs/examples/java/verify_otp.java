// relayhub: Check the code the user typed (POST /api/v1/otp/verify).
// Java 11+, no libraries. Run:
//     RELAYHUB_TOKEN=rh_... OTP_ID=otp_... OTP_CODE=123456 java verify_otp.java
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;

class VerifyOtp {
    public static void main(String[] args) throws Exception {
        String url = System.getenv().getOrDefault("RELAYHUB_URL", "http://127.0.0.1:8080");
        String token = System.getenv("RELAYHUB_TOKEN");
        String body = "{\"otp_id\": " + quote(System.getenv("OTP_ID"))
                + ", \"code\": " + quote(System.getenv("OTP_CODE")) + "}";
        HttpRequest request = HttpRequest.newBuilder(URI.create(url + "/api/v1/otp/verify"))
                .header("Authorization", "Bearer " + token)
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body))
                .build();
        // HTTP/1.1: over plain http, Java offers HTTP/2 ("Upgrade: h2c") by default, and
        // some servers (uvicorn among them) then lose a POST's body.
        HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
        HttpResponse<String> response = client.send(request, HttpResponse.BodyHandlers.ofString());
        System.out.println(response.body());
        // `valid` is true only for the right code, in time, the first time. Decide on it,
        // not on `ok` or the HTTP status: a wrong code is a valid request, answered 200.
        // No JSON library here: the hub writes JSON without spaces (use yours if you have one).
        boolean valid = response.body().contains("\"valid\":true");
        System.out.println(valid ? "valid" : "not valid");
    }

    /** A JSON string (use your JSON library instead, if the project has one). */
    static String quote(String value) {
        return '"' + value.replace("\\", "\\\\").replace("\"", "\\\"") + '"';
    }
}

// relayhub: Queue one SMS (POST /api/v1/sms/send).
// Java 11+, no libraries. Run:
//     RELAYHUB_TOKEN=rh_... java send_sms.java
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;

class SendSms {
    public static void main(String[] args) throws Exception {
        String url = System.getenv().getOrDefault("RELAYHUB_URL", "http://127.0.0.1:8080");
        String token = System.getenv("RELAYHUB_TOKEN");
        String body = "{\"to\": \"+998901234567\", \"text\": \"Salom from relayhub\"}";
        HttpRequest request = HttpRequest.newBuilder(URI.create(url + "/api/v1/sms/send"))
                .header("Authorization", "Bearer " + token)
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body))
                .build();
        // HTTP/1.1: over plain http, Java offers HTTP/2 ("Upgrade: h2c") by default, and
        // some servers (uvicorn among them) then lose a POST's body.
        HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
        HttpResponse<String> response = client.send(request, HttpResponse.BodyHandlers.ofString());
        System.out.println(response.body());
    }
}

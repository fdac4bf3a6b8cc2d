// relayhub: What happened to a message (GET /api/v1/messages/status).
// Java 11+, no libraries. Run:
//     RELAYHUB_TOKEN=rh_... REQUEST_ID=req_... java message_status.java
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;

class MessageStatus {
    public static void main(String[] args) throws Exception {
        String url = System.getenv().getOrDefault("RELAYHUB_URL", "http://127.0.0.1:8080");
        String token = System.getenv("RELAYHUB_TOKEN");
        String requestId = System.getenv("REQUEST_ID");
        String query = "request_id=" + URLEncoder.encode(requestId, StandardCharsets.UTF_8);
        URI uri = URI.create(url + "/api/v1/messages/status?" + query);
        HttpRequest request = HttpRequest.newBuilder(uri)
                .header("Authorization", "Bearer " + token)
                .build();
        // HTTP/1.1: over plain http, Java offers HTTP/2 ("Upgrade: h2c") by default, and
        // some servers (uvicorn among them) then lose a POST's body.
        HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
        HttpResponse<String> response = client.send(request, HttpResponse.BodyHandlers.ofString());
        System.out.println(response.body());
    }
}

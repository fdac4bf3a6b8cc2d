// relayhub: What happened to a message (GET /api/v1/messages/status).
// Needs com.squareup.okhttp3:okhttp:4.12.0 and, off Android, org.json:json.
// Run main() with the environment set (RELAYHUB_URL is optional), e.g.
//     RELAYHUB_TOKEN=rh_... REQUEST_ID=req_...
import okhttp3.HttpUrl.Companion.toHttpUrl
import okhttp3.OkHttpClient
import okhttp3.Request

fun main() {
    val url = System.getenv("RELAYHUB_URL") ?: "http://127.0.0.1:8080"
    val token = System.getenv("RELAYHUB_TOKEN")
    val target = "$url/api/v1/messages/status".toHttpUrl().newBuilder()
        .addQueryParameter("request_id", System.getenv("REQUEST_ID"))
        .build()
    val request = Request.Builder()
        .url(target)
        .header("Authorization", "Bearer $token")
        .build()
    OkHttpClient().newCall(request).execute().use { response ->
        val answer = response.body?.string() ?: ""
        println(answer)
    }
}

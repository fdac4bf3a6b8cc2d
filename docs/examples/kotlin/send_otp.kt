// relayhub: Send a one-time code by SMS (POST /api/v1/otp/send).
// Needs com.squareup.okhttp3:okhttp:4.12.0 and, off Android, org.json:json.
// Run main() with the environment set (RELAYHUB_URL is optional), e.g.
//     RELAYHUB_TOKEN=rh_...
import okhttp3.MediaType.Companion.toMediaType
import okhttp3.OkHttpClient
import okhttp3.Request
import okhttp3.RequestBody.Companion.toRequestBody
import org.json.JSONObject

fun main() {
    val url = System.getenv("RELAYHUB_URL") ?: "http://127.0.0.1:8080"
    val token = System.getenv("RELAYHUB_TOKEN")
    val body = JSONObject(mapOf("to" to "+998901234567", "purpose" to "login")).toString()
    val request = Request.Builder()
        .url("$url/api/v1/otp/send")
        .post(body.toRequestBody("application/json".toMediaType()))
        .header("Authorization", "Bearer $token")
        .build()
    OkHttpClient().newCall(request).execute().use { response ->
        val answer = response.body?.string() ?: ""
        println(answer)
    }
}

// relayhub: Check the code the user typed (POST /api/v1/otp/verify).
// Needs com.squareup.okhttp3:okhttp:4.12.0 and, off Android, org.json:json.
// Run main() with the environment set (RELAYHUB_URL is optional), e.g.
//     RELAYHUB_TOKEN=rh_... OTP_ID=otp_... OTP_CODE=123456
import okhttp3.MediaType.Companion.toMediaType
import okhttp3.OkHttpClient
import okhttp3.Request
import okhttp3.RequestBody.Companion.toRequestBody
import org.json.JSONObject

fun main() {
    val url = System.getenv("RELAYHUB_URL") ?: "http://127.0.0.1:8080"
    val token = System.getenv("RELAYHUB_TOKEN")
    val body = JSONObject(mapOf(
        "otp_id" to System.getenv("OTP_ID"),
        "code" to System.getenv("OTP_CODE"),
    )).toString()
    val request = Request.Builder()
        .url("$url/api/v1/otp/verify")
        .post(body.toRequestBody("application/json".toMediaType()))
        .header("Authorization", "Bearer $token")
        .build()
    OkHttpClient().newCall(request).execute().use { response ->
        val answer = response.body?.string() ?: ""
        println(answer)
        // `valid` is true only for the right code, in time, the first time. Decide on it,
        // not on `ok` or the HTTP status: a wrong code is a valid request, answered 200.
        println(if (JSONObject(answer).optBoolean("valid")) "valid" else "not valid")
    }
}

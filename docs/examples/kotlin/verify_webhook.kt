// relayhub: Check a webhook's signature and age (Standard Webhooks).
// Kotlin on the JVM, no libraries.
// Run main(): it checks a fixed sample and prints "valid".
import java.security.MessageDigest
import java.util.Base64
import javax.crypto.Mac
import javax.crypto.spec.SecretKeySpec
import kotlin.math.abs

const val TOLERANCE_S = 5 * 60L

/** True if [body] (the raw request body) is signed with [secret] ("whsec_...") and was
 *  sent within 5 minutes of [now] (Unix seconds; default: the current time). */
fun verifyWebhook(
    secret: String,
    msgId: String,
    timestamp: String,
    signatures: String,
    body: ByteArray,
    now: Long = System.currentTimeMillis() / 1000,
): Boolean {
    if (!timestamp.all { it in '0'..'9' }) return false
    val sentAt = timestamp.toLongOrNull() ?: return false
    if (abs(now - sentAt) > TOLERANCE_S) return false
    val key = Base64.getDecoder().decode(secret.removePrefix("whsec_"))
    val mac = Mac.getInstance("HmacSHA256").apply { init(SecretKeySpec(key, "HmacSHA256")) }
    mac.update("$msgId.$timestamp.".toByteArray())
    val expected = Base64.getEncoder().encode(mac.doFinal(body))
    return signatures.split(" ").any {
        it.startsWith("v1,") && MessageDigest.isEqual(it.substring(3).toByteArray(), expected)
    }
}

fun main() {
    // Self-check on the Standard Webhooks spec's test vector. `now` is the sample's own
    // time, which skips the 5-minute check: self-check only, the sample is from 2021.
    val ok = verifyWebhook(
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        "msg_p5jXN8AQM9LWM0D4loKWxJek",
        "1614265330",
        "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
        "{\"test\": 2432232314}".toByteArray(),
        now = 1614265330,
    )
    println(if (ok) "valid" else "invalid")
}

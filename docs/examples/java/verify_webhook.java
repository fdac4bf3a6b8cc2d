// relayhub: Check a webhook's signature and age (Standard Webhooks).
// Java 11+, no libraries.
// Run: java verify_webhook.java   (checks a fixed sample and prints "valid")
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.util.Base64;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

class VerifyWebhook {
    static final long TOLERANCE_S = 5 * 60;

    /**
     * True if body (the raw request body) is signed with secret ("whsec_...") and was sent
     * within 5 minutes of now (Unix seconds: pass Instant.now().getEpochSecond()).
     */
    static boolean verifyWebhook(String secret, String msgId, String timestamp,
            String signatures, byte[] body, long now) throws GeneralSecurityException {
        if (timestamp == null || !timestamp.matches("[0-9]{1,18}")) {
            return false;
        }
        if (Math.abs(now - Long.parseLong(timestamp)) > TOLERANCE_S) {
            return false;
        }
        byte[] key = Base64.getDecoder().decode(secret.replaceFirst("^whsec_", ""));
        Mac mac = Mac.getInstance("HmacSHA256");
        mac.init(new SecretKeySpec(key, "HmacSHA256"));
        mac.update((msgId + "." + timestamp + ".").getBytes(StandardCharsets.UTF_8));
        byte[] expected = Base64.getEncoder().encode(mac.doFinal(body));
        for (String item : signatures.split(" ")) {
            if (item.startsWith("v1,") && MessageDigest.isEqual(
                    item.substring(3).getBytes(StandardCharsets.UTF_8), expected)) {
                return true;
            }
        }
        return false;
    }

    public static void main(String[] args) throws GeneralSecurityException {
        // Self-check on the Standard Webhooks spec's test vector. `now` is the sample's own
        // time, which skips the 5-minute check: self-check only, the sample is from 2021.
        boolean ok = verifyWebhook(
                "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
                "msg_p5jXN8AQM9LWM0D4loKWxJek",
                "1614265330",
                "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
                "{\"test\": 2432232314}".getBytes(StandardCharsets.UTF_8),
                1614265330L);
        System.out.println(ok ? "valid" : "invalid");
        System.exit(ok ? 0 : 1);
    }
}

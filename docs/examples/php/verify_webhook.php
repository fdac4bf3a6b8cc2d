<?php
// relayhub: Check a webhook's signature and age (Standard Webhooks).
// PHP 8+.
// Run: php verify_webhook.php   (checks a fixed sample and prints "valid")
// In a handler: relayhub_verify_webhook($secret, $_SERVER['HTTP_WEBHOOK_ID'],
//     $_SERVER['HTTP_WEBHOOK_TIMESTAMP'], $_SERVER['HTTP_WEBHOOK_SIGNATURE'],
//     file_get_contents('php://input'))

/** True if $body (the raw request body) is signed with $secret ("whsec_...") and fresh. */
function relayhub_verify_webhook(
    string $secret,
    string $msgId,
    string $timestamp,
    string $signatures,
    string $body,
    ?int $now = null
): bool {
    $age = ($now ?? time()) - (int) $timestamp;
    if (!ctype_digit($timestamp) || abs($age) > 300) {
        return false; // missing, or more than 5 minutes away from this server's clock
    }
    $key = base64_decode(preg_replace('/^whsec_/', '', $secret));
    $signed = $msgId . '.' . $timestamp . '.' . $body;
    $expected = base64_encode(hash_hmac('sha256', $signed, $key, true));
    foreach (explode(' ', $signatures) as $item) {
        if (str_starts_with($item, 'v1,') && hash_equals($expected, substr($item, 3))) {
            return true;
        }
    }
    return false;
}

if (PHP_SAPI === 'cli' && realpath($argv[0]) === __FILE__) {
    // Self-check on the Standard Webhooks spec's test vector. $now is the sample's own
    // time, which skips the 5-minute check: self-check only, the sample is from 2021.
    $ok = relayhub_verify_webhook(
        'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
        'msg_p5jXN8AQM9LWM0D4loKWxJek',
        '1614265330',
        'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
        '{"test": 2432232314}',
        1614265330
    );
    echo $ok ? "valid\n" : "invalid\n";
    exit($ok ? 0 : 1);
}

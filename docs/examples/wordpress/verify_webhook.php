<?php
// relayhub: Check a webhook's signature and age (Standard Webhooks).
// WordPress. Save as wp-content/mu-plugins/relayhub-webhook.php: it adds the receiving route
// POST /wp-json/relayhub/v1/events (register that URL with the hub). In wp-config.php:
//     define('RELAYHUB_WEBHOOK_SECRET', 'whsec_...');
// Self-check (prints "valid"): wp relayhub check-webhook-signature

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

add_action('rest_api_init', function () {
    register_rest_route('relayhub/v1', '/events', [
        'methods' => 'POST',
        'permission_callback' => function (WP_REST_Request $request) {
            $valid = relayhub_verify_webhook(
                RELAYHUB_WEBHOOK_SECRET,
                (string) $request->get_header('webhook-id'),
                (string) $request->get_header('webhook-timestamp'),
                (string) $request->get_header('webhook-signature'),
                $request->get_body()
            );
            return $valid ?: new WP_Error('bad_signature', 'Bad signature', ['status' => 400]);
        },
        'callback' => function (WP_REST_Request $request) {
            $event = json_decode($request->get_body(), true);
            // Handle $event['type'] and $event['data'] here (or queue them), and drop
            // repeats by $request->get_header('webhook-id').
            return new WP_REST_Response(null, 204);
        },
    ]);
});

if (defined('WP_CLI') && WP_CLI) {
    WP_CLI::add_command('relayhub check-webhook-signature', function () {
        // The Standard Webhooks spec's test vector. The last argument ($now) is the
        // sample's own time, which skips the 5-minute check: self-check only.
        $ok = relayhub_verify_webhook(
            'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
            'msg_p5jXN8AQM9LWM0D4loKWxJek',
            '1614265330',
            'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
            '{"test": 2432232314}',
            1614265330
        );
        $ok ? WP_CLI::line('valid') : WP_CLI::error('invalid');
    });
}

<?php
// relayhub: Check the code the user typed (POST /api/v1/otp/verify).
// WordPress with WP-CLI.
// Save as wp-content/mu-plugins/relayhub-verify-otp.php, then run:
//     RELAYHUB_TOKEN=rh_... OTP_ID=otp_... OTP_CODE=123456 wp relayhub verify-otp

if (defined('WP_CLI') && WP_CLI) {
    WP_CLI::add_command('relayhub verify-otp', function () {
        $url = getenv('RELAYHUB_URL') ?: 'http://127.0.0.1:8080';
        $body = ['otp_id' => getenv('OTP_ID'), 'code' => getenv('OTP_CODE')];
        $response = wp_remote_post($url . '/api/v1/otp/verify', [
            'headers' => [
                'Authorization' => 'Bearer ' . getenv('RELAYHUB_TOKEN'),
                'Content-Type' => 'application/json',
            ],
            'body' => wp_json_encode($body),
            'data_format' => 'body',
        ]);
        if (is_wp_error($response)) {
            WP_CLI::error($response->get_error_message());
        }
        WP_CLI::line(wp_remote_retrieve_body($response));
        // `valid` is true only for the right code, in time, the first time. Decide on it,
        // not on `ok` or the HTTP status: a wrong code is a valid request, answered 200.
        $answer = json_decode(wp_remote_retrieve_body($response), true);
        WP_CLI::line((($answer['valid'] ?? false) === true) ? 'valid' : 'not valid');
    });
}

<?php
// relayhub: Send a one-time code by SMS (POST /api/v1/otp/send).
// WordPress with WP-CLI.
// Save as wp-content/mu-plugins/relayhub-send-otp.php, then run:
//     RELAYHUB_TOKEN=rh_... wp relayhub send-otp

if (defined('WP_CLI') && WP_CLI) {
    WP_CLI::add_command('relayhub send-otp', function () {
        $url = getenv('RELAYHUB_URL') ?: 'http://127.0.0.1:8080';
        $body = ['to' => '+998901234567', 'purpose' => 'login'];
        $response = wp_remote_post($url . '/api/v1/otp/send', [
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
    });
}

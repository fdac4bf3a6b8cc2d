<?php
// relayhub: Queue one SMS (POST /api/v1/sms/send).
// WordPress with WP-CLI.
// Save as wp-content/mu-plugins/relayhub-send-sms.php, then run:
//     RELAYHUB_TOKEN=rh_... wp relayhub send-sms

if (defined('WP_CLI') && WP_CLI) {
    WP_CLI::add_command('relayhub send-sms', function () {
        $url = getenv('RELAYHUB_URL') ?: 'http://127.0.0.1:8080';
        $body = ['to' => '+998901234567', 'text' => 'Salom from relayhub'];
        $response = wp_remote_post($url . '/api/v1/sms/send', [
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

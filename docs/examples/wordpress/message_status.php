<?php
// relayhub: What happened to a message (GET /api/v1/messages/status).
// WordPress with WP-CLI.
// Save as wp-content/mu-plugins/relayhub-message-status.php, then run:
//     RELAYHUB_TOKEN=rh_... REQUEST_ID=req_... wp relayhub message-status

if (defined('WP_CLI') && WP_CLI) {
    WP_CLI::add_command('relayhub message-status', function () {
        $url = getenv('RELAYHUB_URL') ?: 'http://127.0.0.1:8080';
        $query = http_build_query(['request_id' => getenv('REQUEST_ID')]);
        $response = wp_remote_get($url . '/api/v1/messages/status?' . $query, [
            'headers' => ['Authorization' => 'Bearer ' . getenv('RELAYHUB_TOKEN')],
        ]);
        if (is_wp_error($response)) {
            WP_CLI::error($response->get_error_message());
        }
        WP_CLI::line(wp_remote_retrieve_body($response));
    });
}

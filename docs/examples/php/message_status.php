<?php
// relayhub: What happened to a message (GET /api/v1/messages/status).
// Needs PHP's curl extension. Run:
//     RELAYHUB_TOKEN=rh_... REQUEST_ID=req_... php message_status.php
$url = getenv('RELAYHUB_URL') ?: 'http://127.0.0.1:8080';
$token = getenv('RELAYHUB_TOKEN');

$query = http_build_query(['request_id' => getenv('REQUEST_ID')]);
$ch = curl_init($url . '/api/v1/messages/status?' . $query);
curl_setopt_array($ch, [
    CURLOPT_HTTPHEADER => ["Authorization: Bearer $token"],
    CURLOPT_RETURNTRANSFER => true,
]);
$answer = curl_exec($ch);
if ($answer === false) {
    fwrite(STDERR, curl_error($ch) . "\n");
    exit(1);
}
echo $answer, "\n";

<?php
// relayhub: Queue one SMS (POST /api/v1/sms/send).
// Needs PHP's curl extension. Run:
//     RELAYHUB_TOKEN=rh_... php send_sms.php
$url = getenv('RELAYHUB_URL') ?: 'http://127.0.0.1:8080';
$token = getenv('RELAYHUB_TOKEN');

$body = ['to' => '+998901234567', 'text' => 'Salom from relayhub'];
$ch = curl_init($url . '/api/v1/sms/send');
curl_setopt_array($ch, [
    CURLOPT_POST => true,
    CURLOPT_POSTFIELDS => json_encode($body),
    CURLOPT_HTTPHEADER => ["Authorization: Bearer $token", 'Content-Type: application/json'],
    CURLOPT_RETURNTRANSFER => true,
]);
$answer = curl_exec($ch);
if ($answer === false) {
    fwrite(STDERR, curl_error($ch) . "\n");
    exit(1);
}
echo $answer, "\n";

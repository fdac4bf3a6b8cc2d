<?php
// relayhub: Check the code the user typed (POST /api/v1/otp/verify).
// Needs PHP's curl extension. Run:
//     RELAYHUB_TOKEN=rh_... OTP_ID=otp_... OTP_CODE=123456 php verify_otp.php
$url = getenv('RELAYHUB_URL') ?: 'http://127.0.0.1:8080';
$token = getenv('RELAYHUB_TOKEN');

$body = ['otp_id' => getenv('OTP_ID'), 'code' => getenv('OTP_CODE')];
$ch = curl_init($url . '/api/v1/otp/verify');
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
// `valid` is true only for the right code, in time, the first time. Decide on it,
// not on `ok` or the HTTP status: a wrong code is a valid request, answered 200.
if ((json_decode($answer, true)['valid'] ?? false) === true) {
    echo "valid\n";
} else {
    echo "not valid\n";
}

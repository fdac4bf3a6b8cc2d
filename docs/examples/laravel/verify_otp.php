<?php
// relayhub: Check the code the user typed (POST /api/v1/otp/verify).
// Laravel 10+.
// Paste into routes/console.php (keep one copy of the use lines), add to
// config/services.php:
//     'relayhub' => [
//         'url' => env('RELAYHUB_URL', 'http://127.0.0.1:8080'),
//         'token' => env('RELAYHUB_TOKEN'),
//     ],
// and run: OTP_ID=otp_... OTP_CODE=123456 php artisan relayhub:verify-otp

use Illuminate\Support\Facades\Artisan;
use Illuminate\Support\Facades\Http;

Artisan::command('relayhub:verify-otp', function () {
    $relayhub = Http::baseUrl(config('services.relayhub.url'))
        ->withToken(config('services.relayhub.token'))
        ->acceptJson();
    $body = ['otp_id' => env('OTP_ID'), 'code' => env('OTP_CODE')];
    $response = $relayhub->post('/api/v1/otp/verify', $body);
    $this->line($response->body());
    // `valid` is true only for the right code, in time, the first time. Decide on it,
    // not on `ok` or the HTTP status: a wrong code is a valid request, answered 200.
    $this->line($response->json('valid') === true ? 'valid' : 'not valid');
})->purpose('Check the code the user typed');

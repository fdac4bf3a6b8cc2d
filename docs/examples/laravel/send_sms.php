<?php
// relayhub: Queue one SMS (POST /api/v1/sms/send).
// Laravel 10+.
// Paste into routes/console.php (keep one copy of the use lines), add to
// config/services.php:
//     'relayhub' => [
//         'url' => env('RELAYHUB_URL', 'http://127.0.0.1:8080'),
//         'token' => env('RELAYHUB_TOKEN'),
//     ],
// and run: php artisan relayhub:send-sms

use Illuminate\Support\Facades\Artisan;
use Illuminate\Support\Facades\Http;

Artisan::command('relayhub:send-sms', function () {
    $relayhub = Http::baseUrl(config('services.relayhub.url'))
        ->withToken(config('services.relayhub.token'))
        ->acceptJson();
    $body = ['to' => '+998901234567', 'text' => 'Salom from relayhub'];
    $response = $relayhub->post('/api/v1/sms/send', $body);
    $this->line($response->body());
})->purpose('Queue one SMS');

<?php
// relayhub: What happened to a message (GET /api/v1/messages/status).
// Laravel 10+.
// Paste into routes/console.php (keep one copy of the use lines), add to
// config/services.php:
//     'relayhub' => [
//         'url' => env('RELAYHUB_URL', 'http://127.0.0.1:8080'),
//         'token' => env('RELAYHUB_TOKEN'),
//     ],
// and run: REQUEST_ID=req_... php artisan relayhub:message-status

use Illuminate\Support\Facades\Artisan;
use Illuminate\Support\Facades\Http;

Artisan::command('relayhub:message-status', function () {
    $relayhub = Http::baseUrl(config('services.relayhub.url'))
        ->withToken(config('services.relayhub.token'))
        ->acceptJson();
    $response = $relayhub->get('/api/v1/messages/status', ['request_id' => env('REQUEST_ID')]);
    $this->line($response->body());
})->purpose('What happened to a message');

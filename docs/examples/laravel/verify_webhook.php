<?php
// relayhub: Check a webhook's signature and age (Standard Webhooks).
// Laravel 10+. Save as app/Http/Middleware/VerifyRelayhubSignature.php and put it on
// the receiving route, in routes/api.php (which has no CSRF check):
//     Route::post('/hooks/relayhub', HandleRelayhubEvent::class)
//         ->middleware(VerifyRelayhubSignature::class);
// Add 'webhook_secret' => env('RELAYHUB_WEBHOOK_SECRET') to the 'relayhub' entry of
// config/services.php. Self-check (prints "valid"):
//     php artisan tinker --execute='App\Http\Middleware\VerifyRelayhubSignature::selfCheck()'

namespace App\Http\Middleware;

use Closure;
use Illuminate\Http\Request;
use Symfony\Component\HttpFoundation\Response;

class VerifyRelayhubSignature
{
    public function handle(Request $request, Closure $next): Response
    {
        $valid = self::verify(
            config('services.relayhub.webhook_secret'),
            (string) $request->header('webhook-id'),
            (string) $request->header('webhook-timestamp'),
            (string) $request->header('webhook-signature'),
            $request->getContent(),
        );
        abort_unless($valid, 400, 'Bad webhook signature');

        return $next($request);
    }

    /** True if $body (the raw request body) is signed with $secret ("whsec_...") and fresh. */
    public static function verify(
        string $secret,
        string $msgId,
        string $timestamp,
        string $signatures,
        string $body,
        ?int $now = null,
    ): bool {
        $age = ($now ?? time()) - (int) $timestamp;
        if (!ctype_digit($timestamp) || abs($age) > 300) {
            return false; // missing, or more than 5 minutes away from this server's clock
        }
        $key = base64_decode(preg_replace('/^whsec_/', '', $secret));
        $signed = $msgId . '.' . $timestamp . '.' . $body;
        $expected = base64_encode(hash_hmac('sha256', $signed, $key, true));
        foreach (explode(' ', $signatures) as $item) {
            if (str_starts_with($item, 'v1,') && hash_equals($expected, substr($item, 3))) {
                return true;
            }
        }
        return false;
    }

    public static function selfCheck(): void
    {
        // The Standard Webhooks spec's test vector. $now is the sample's own time, which
        // skips the 5-minute check: self-check only, the sample is from 2021.
        $ok = self::verify(
            'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
            'msg_p5jXN8AQM9LWM0D4loKWxJek',
            '1614265330',
            'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
            '{"test": 2432232314}',
            now: 1614265330,
        );
        echo $ok ? "valid\n" : "invalid\n";
    }
}

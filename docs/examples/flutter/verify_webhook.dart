// relayhub: Check a webhook's signature and age (Standard Webhooks) in Dart.
// Webhooks go to servers: this is for a Dart server (shelf, dart_frog, ...); an app gets
// its events from your server. Needs package:crypto (dart pub add crypto).
// Run: dart run verify_webhook.dart   (checks a fixed sample and prints "valid")
import 'dart:convert';

import 'package:crypto/crypto.dart';

const toleranceSeconds = 5 * 60;

/// True if [body] (the raw request body) is signed with [secret] ("whsec_...") and
/// was sent within 5 minutes of [now] (Unix seconds; default: the current time).
bool verifyWebhook(String secret, String msgId, String timestamp, String signatures,
    List<int> body, {int? now}) {
  if (!RegExp(r'^\d{1,15}$').hasMatch(timestamp)) return false;
  now ??= DateTime.now().millisecondsSinceEpoch ~/ 1000;
  if ((now - int.parse(timestamp)).abs() > toleranceSeconds) return false;
  final key = base64.decode(secret.startsWith('whsec_') ? secret.substring(6) : secret);
  final signed = [...utf8.encode('$msgId.$timestamp.'), ...body];
  final expected = utf8.encode(base64.encode(Hmac(sha256, key).convert(signed).bytes));
  return signatures.split(' ').any((item) =>
      item.startsWith('v1,') && _sameBytes(utf8.encode(item.substring(3)), expected));
}

/// Compares in constant time, so how long it takes tells an attacker nothing.
bool _sameBytes(List<int> a, List<int> b) {
  if (a.length != b.length) return false;
  var difference = 0;
  for (var i = 0; i < a.length; i++) {
    difference |= a[i] ^ b[i];
  }
  return difference == 0;
}

void main() {
  // Self-check on the Standard Webhooks spec's test vector. `now` is the sample's own
  // time, which skips the 5-minute check: self-check only, the sample is from 2021.
  final ok = verifyWebhook(
    'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
    'msg_p5jXN8AQM9LWM0D4loKWxJek',
    '1614265330',
    'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
    utf8.encode('{"test": 2432232314}'),
    now: 1614265330,
  );
  print(ok ? 'valid' : 'invalid');
}

// relayhub: Check the code the user typed (POST /api/v1/otp/verify).
// Flutter or Dart with package:http (flutter pub add http). The values are defines:
//     flutter run --dart-define=RELAYHUB_TOKEN=rh_... \
//         --dart-define=OTP_ID=otp_... \
//         --dart-define=OTP_CODE=123456
// (from the Android emulator, a hub on your computer is http://10.0.2.2:8080).
// Anyone can read a token out of an app: in production, call your own server, which
// keeps the token and calls relayhub.
import 'dart:convert';

import 'package:http/http.dart' as http;

const url = String.fromEnvironment('RELAYHUB_URL', defaultValue: 'http://127.0.0.1:8080');
const token = String.fromEnvironment('RELAYHUB_TOKEN');

Future<void> main() async {
  final body = {
    'otp_id': const String.fromEnvironment('OTP_ID'),
    'code': const String.fromEnvironment('OTP_CODE'),
  };
  final response = await http.post(
    Uri.parse('$url/api/v1/otp/verify'),
    headers: {'Authorization': 'Bearer $token', 'Content-Type': 'application/json'},
    body: jsonEncode(body),
  );
  print(response.body);
  // `valid` is true only for the right code, in time, the first time. Decide on it,
  // not on `ok` or the HTTP status: a wrong code is a valid request, answered 200.
  final answer = jsonDecode(response.body);
  print(answer is Map && answer['valid'] == true ? 'valid' : 'not valid');
}

// relayhub: Queue one SMS (POST /api/v1/sms/send).
// Flutter or Dart with package:http (flutter pub add http). The values are defines:
//     flutter run --dart-define=RELAYHUB_TOKEN=rh_...
// (from the Android emulator, a hub on your computer is http://10.0.2.2:8080).
// Anyone can read a token out of an app: in production, call your own server, which
// keeps the token and calls relayhub.
import 'dart:convert';

import 'package:http/http.dart' as http;

const url = String.fromEnvironment('RELAYHUB_URL', defaultValue: 'http://127.0.0.1:8080');
const token = String.fromEnvironment('RELAYHUB_TOKEN');

Future<void> main() async {
  final body = {'to': '+998901234567', 'text': 'Salom from relayhub'};
  final response = await http.post(
    Uri.parse('$url/api/v1/sms/send'),
    headers: {'Authorization': 'Bearer $token', 'Content-Type': 'application/json'},
    body: jsonEncode(body),
  );
  print(response.body);
}

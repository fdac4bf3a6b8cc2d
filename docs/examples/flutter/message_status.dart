// relayhub: What happened to a message (GET /api/v1/messages/status).
// Flutter or Dart with package:http (flutter pub add http). The values are defines:
//     flutter run --dart-define=RELAYHUB_TOKEN=rh_... \
//         --dart-define=REQUEST_ID=req_...
// (from the Android emulator, a hub on your computer is http://10.0.2.2:8080).
// Anyone can read a token out of an app: in production, call your own server, which
// keeps the token and calls relayhub.
import 'dart:convert';

import 'package:http/http.dart' as http;

const url = String.fromEnvironment('RELAYHUB_URL', defaultValue: 'http://127.0.0.1:8080');
const token = String.fromEnvironment('RELAYHUB_TOKEN');

Future<void> main() async {
  const requestId = String.fromEnvironment('REQUEST_ID');
  final uri = Uri.parse('$url/api/v1/messages/status')
      .replace(queryParameters: {'request_id': requestId});
  final response = await http.get(uri, headers: {'Authorization': 'Bearer $token'});
  print(response.body);
}

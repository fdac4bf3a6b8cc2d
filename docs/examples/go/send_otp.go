// relayhub: Send a one-time code by SMS (POST /api/v1/otp/send).
// Run: RELAYHUB_TOKEN=rh_... go run send_otp.go
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
)

func main() {
	base := os.Getenv("RELAYHUB_URL")
	if base == "" {
		base = "http://127.0.0.1:8080"
	}
	body, err := json.Marshal(map[string]string{"to": "+998901234567", "purpose": "login"})
	if err != nil {
		log.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPost, base+"/api/v1/otp/send", bytes.NewReader(body))
	if err != nil {
		log.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+os.Getenv("RELAYHUB_TOKEN"))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(resp.Body)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(string(answer))
}

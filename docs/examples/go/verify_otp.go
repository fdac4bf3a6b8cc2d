// relayhub: Check the code the user typed (POST /api/v1/otp/verify).
// Run: RELAYHUB_TOKEN=rh_... OTP_ID=otp_... OTP_CODE=123456 go run verify_otp.go
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
	body, err := json.Marshal(map[string]string{
		"otp_id": os.Getenv("OTP_ID"),
		"code":   os.Getenv("OTP_CODE"),
	})
	if err != nil {
		log.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPost, base+"/api/v1/otp/verify", bytes.NewReader(body))
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
	// `valid` is true only for the right code, in time, the first time. Decide on it,
	// not on `ok` or the HTTP status: a wrong code is a valid request, answered 200.
	var result struct {
		Valid bool `json:"valid"`
	}
	if err := json.Unmarshal(answer, &result); err == nil && result.Valid {
		fmt.Println("valid")
	} else {
		fmt.Println("not valid")
	}
}

// relayhub: What happened to a message (GET /api/v1/messages/status).
// Run: RELAYHUB_TOKEN=rh_... REQUEST_ID=req_... go run message_status.go
package main

import (
	"fmt"
	"io"
	"log"
	"net/http"
	"net/url"
	"os"
)

func main() {
	base := os.Getenv("RELAYHUB_URL")
	if base == "" {
		base = "http://127.0.0.1:8080"
	}
	query := url.Values{"request_id": []string{os.Getenv("REQUEST_ID")}}
	req, err := http.NewRequest(http.MethodGet, base+"/api/v1/messages/status?"+query.Encode(), nil)
	if err != nil {
		log.Fatal(err)
	}
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

// relayhub: Check a webhook's signature and age (Standard Webhooks).
// Standard library only.
// Run: go run verify_webhook.go   (checks a fixed sample and prints "valid")
package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

const tolerance = 5 * time.Minute

// verifyWebhook reports whether body (the raw request body) is signed with secret
// ("whsec_...") and was sent within 5 minutes of now (pass time.Now()). Pass the
// webhook-id, webhook-timestamp and webhook-signature headers as they came.
func verifyWebhook(secret, msgID, timestamp, signatures string, body []byte, now time.Time) bool {
	seconds, err := strconv.ParseUint(timestamp, 10, 40)
	if err != nil {
		return false
	}
	if age := now.Sub(time.Unix(int64(seconds), 0)); age > tolerance || age < -tolerance {
		return false
	}
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		return false
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(msgID + "." + timestamp + "."))
	mac.Write(body)
	expected := []byte(base64.StdEncoding.EncodeToString(mac.Sum(nil)))
	for _, item := range strings.Fields(signatures) {
		if strings.HasPrefix(item, "v1,") && hmac.Equal([]byte(item[3:]), expected) {
			return true
		}
	}
	return false
}

func main() {
	// Self-check on the Standard Webhooks spec's test vector. `now` is the sample's own
	// time, which skips the 5-minute check: self-check only, the sample is from 2021.
	ok := verifyWebhook(
		"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
		"msg_p5jXN8AQM9LWM0D4loKWxJek",
		"1614265330",
		"v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
		[]byte(`{"test": 2432232314}`),
		time.Unix(1614265330, 0),
	)
	if !ok {
		fmt.Println("invalid")
		os.Exit(1)
	}
	fmt.Println("valid")
}

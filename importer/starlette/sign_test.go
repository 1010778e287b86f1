package starlette_test

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"testing"
)

// sign appends an itsdangerous signature made with the tests' secret, as
// the application would, so that handcrafted payloads get past the
// signature check. TestStarletteSignerMatchesPeer holds it to the real
// itsdangerous.
func sign(value string) string {
	key := sha1.Sum([]byte("itsdangerous.Signer" + "signer" + secret))
	mac := hmac.New(sha1.New, key[:])
	mac.Write([]byte(value))
	return value + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// stampOf encodes a Unix time as itsdangerous's timestamp.
func stampOf(sec int64) string {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(sec))
	i := 0
	for i < 7 && b[i] == 0 {
		i++
	}
	return base64.RawURLEncoding.EncodeToString(b[i:])
}

func TestStarletteSignerMatchesPeer(t *testing.T) {
	t.Parallel()
	payload := base64.StdEncoding.EncodeToString([]byte(`{"a": 1}`))
	got := runPeer(t, peerReq{Raw: []rawReq{{Secret: secret, Payload: payload, TS: now.Unix()}}}).Raw[0]
	if want := sign(payload + "." + stampOf(now.Unix())); got != want {
		t.Fatalf("itsdangerous signs %q, the test helper %q", got, want)
	}
}

package router

import (
	"crypto/sha256"
	"testing"
)

// A short write hashes only what reached the file, across the message's
// buffers.
func TestHashPrefixHashesWhatWasWritten(t *testing.T) {
	bufs := [][]byte{[]byte("abc"), []byte("defg"), []byte("hi")}
	for n, want := range map[int]string{0: "", 2: "ab", 3: "abc", 5: "abcde", 9: "abcdefghi"} {
		h := sha256.New()
		hashPrefix(h, bufs, n)
		if got, w := h.Sum(nil), sha256.Sum256([]byte(want)); string(got) != string(w[:]) {
			t.Errorf("hash of the first %d bytes is not that of %q", n, want)
		}
	}
}

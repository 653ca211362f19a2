package shim

import "testing"

func TestHubDropsForSlowClientsAndEnds(t *testing.T) {
	h := newHub()
	slow, _ := h.subscribe()
	for i := range attachBuffer + 10 {
		h.publish(streamStdout, []byte{byte(i)}) // must never block
	}
	h.close()
	n := 0
	for f := range slow {
		if f.Data[0] != byte(n) {
			t.Fatalf("frame %d carries %d", n, f.Data[0])
		}
		n++
	}
	if n != attachBuffer {
		t.Fatalf("slow client got %d frames, want the %d it had room for", n, attachBuffer)
	}
	if _, ok := h.subscribe(); ok {
		t.Fatal("subscribed after the output ended")
	}
}

package pull

import (
	"bytes"
	"context"
	"crypto/rand"
	"io"
	"testing"
	"time"
)

func payload(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

func TestTeeCopiesTheDownloadIntoThePipe(t *testing.T) {
	data := payload(3 << 20)
	tr, err := newTee(context.Background(), bytes.NewReader(data), io.NopCloser(nil))
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan []byte)
	go func() {
		b, _ := io.ReadAll(tr.pr)
		got <- b
	}()
	var down bytes.Buffer
	if _, err := io.Copy(&down, tr); err != nil {
		t.Fatal(err)
	}
	tr.Close()
	if !bytes.Equal(down.Bytes(), data) || !bytes.Equal(<-got, data) {
		t.Fatal("the download or the pipe differ from the blob")
	}
}

// An apply that stops reading never stops the download.
func TestTeeGoesOnWhenTheApplyStops(t *testing.T) {
	data := payload(3 << 20)
	tr, err := newTee(context.Background(), bytes.NewReader(data), io.NopCloser(nil))
	if err != nil {
		t.Fatal(err)
	}
	tr.pr.Close()
	n, err := io.Copy(io.Discard, tr)
	if err != nil || n != int64(len(data)) {
		t.Fatalf("download copied %d bytes: %v", n, err)
	}
}

// A pipe whose reader is still open but no longer read (the apply gave up
// before taking it) is released when the pull's context ends.
func TestTeeIsReleasedWhenThePullEnds(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	tr, err := newTee(ctx, bytes.NewReader(payload(8<<20)), io.NopCloser(nil))
	if err != nil {
		t.Fatal(err)
	}
	defer tr.pr.Close()
	done := make(chan error, 1)
	go func() {
		_, err := io.Copy(io.Discard, tr)
		done <- err
	}()
	cancel()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("the download stayed blocked on the pipe")
	}
}

package pull

import (
	"bytes"
	"context"
	"crypto/rand"
	"io"
	"os"
	"testing"
	"time"

	"golang.org/x/sys/unix"
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
	// Once the pipe is full the download is blocked writing to it: the
	// end of the pull must release it.
	for !full(t, tr.pr) {
		time.Sleep(time.Millisecond)
	}
	cancel()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("the download stayed blocked on the pipe")
	}
}

// full reports whether a pipe holds as much as it can.
func full(t *testing.T, pr *os.File) bool {
	rc, err := pr.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var queued, capacity int
	rc.Control(func(fd uintptr) {
		queued, _ = unix.IoctlGetInt(int(fd), unix.TIOCINQ)
		capacity, _ = unix.FcntlInt(fd, unix.F_GETPIPE_SZ, 0)
	})
	return capacity > 0 && queued >= capacity
}

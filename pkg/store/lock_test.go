package store

import (
	"testing"
	"time"

	"go.uber.org/zap"
)

func TestOpenWaitsForALockReleasedSoon(t *testing.T) {
	dir := t.TempDir()
	first, err := Open(dir, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	released := make(chan struct{})
	go func() {
		time.Sleep(300 * time.Millisecond)
		first.Close()
		close(released)
	}()
	second, err := Open(dir, zap.NewNop())
	if err != nil {
		t.Fatalf("open while the lock is released soon: %v", err)
	}
	defer second.Close()
	select {
	case <-released:
	default:
		t.Fatal("the second open succeeded while the first still held the store")
	}
}

func TestOpenGivesUpOnALockKept(t *testing.T) {
	defer func(d time.Duration) { lockWait = d }(lockWait)
	lockWait = 200 * time.Millisecond
	dir := t.TempDir()
	first, err := Open(dir, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	if second, err := Open(dir, zap.NewNop()); err == nil {
		second.Close()
		t.Fatal("a store held by another opener opened")
	}
}

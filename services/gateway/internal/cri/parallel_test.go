package cri

import (
	"errors"
	"sync/atomic"
	"testing"
)

func TestParallelRunsEveryStepAndJoinsErrors(t *testing.T) {
	var ran atomic.Int32
	errA, errB := errors.New("a"), errors.New("b")
	err := parallel(
		func() error { ran.Add(1); return errA },
		func() error { ran.Add(1); return nil },
		func() error { ran.Add(1); return errB },
	)
	if ran.Load() != 3 {
		t.Fatalf("%d of 3 steps ran", ran.Load())
	}
	if !errors.Is(err, errA) || !errors.Is(err, errB) {
		t.Fatalf("got %v, want both errors", err)
	}
	if err := parallel(func() error { return nil }, func() error { return nil }); err != nil {
		t.Fatalf("no step failed, got %v", err)
	}
}

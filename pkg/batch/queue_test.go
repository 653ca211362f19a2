package batch

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
)

func TestQueueHandsOverEveryMessageInOrder(t *testing.T) {
	q := NewQueue()
	const n = 2000
	go func() {
		for i := 0; i < n; i++ {
			q.Add([]byte(fmt.Sprintf("message %d %s", i, bytes.Repeat([]byte{'x'}, i%300))))
		}
		q.Close(nil)
	}()
	var got []string
	batches := 0
	for {
		b, err := q.Next()
		if err != nil {
			t.Fatal(err)
		}
		if b == nil {
			break
		}
		batches++
		msgs, ok := Split(b)
		if !ok {
			t.Fatalf("batch %d does not split", batches)
		}
		for _, m := range msgs {
			_, _, n := protowire.ConsumeTag(m)
			field, _ := protowire.ConsumeBytes(m[n:])
			got = append(got, string(field))
		}
	}
	if len(got) != n {
		t.Fatalf("%d messages in %d batches, want %d", len(got), batches, n)
	}
	for i, m := range got {
		if want := fmt.Sprintf("message %d ", i); len(m) < len(want) || m[:len(want)] != want {
			t.Fatalf("message %d is %.20q", i, m)
		}
	}
	if batches < 2 {
		t.Fatalf("%d messages in %d batch", n, batches)
	}
}

func TestQueueEndsWithTheProducersError(t *testing.T) {
	q := NewQueue()
	boom := errors.New("boom")
	for i := 0; i < 100; i++ {
		q.Add(bytes.Repeat([]byte{'x'}, 1000))
	}
	q.Close(boom)
	if b, err := q.Next(); b != nil || !errors.Is(err, boom) {
		t.Fatalf("Next after a failure: %d bytes, %v", len(b), err)
	}

	empty := NewQueue()
	empty.Close(nil)
	if b, err := empty.Next(); b != nil || err != nil {
		t.Fatalf("Next of an empty queue: %d bytes, %v", len(b), err)
	}
}

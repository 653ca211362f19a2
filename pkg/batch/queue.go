package batch

import "sync"

// Queue packs the messages a producer adds into batches and hands each
// batch to a consumer on another goroutine as soon as it is full, so the
// first batch is on its way while the producer still reads the rest. Add
// never waits: a producer reading inside a store's transaction is not held
// there by a slow consumer.
type Queue struct {
	mu      sync.Mutex
	batches [][]byte // packed, not yet taken; the last may still grow
	done    bool
	err     error
	wake    chan struct{}
}

// NewQueue returns an empty queue.
func NewQueue() *Queue { return &Queue{wake: make(chan struct{}, 1)} }

// Add packs the message whose field 1 holds field (see Add).
func (q *Queue) Add(field []byte) {
	q.mu.Lock()
	n := len(q.batches)
	q.batches = Add(q.batches, field)
	full := len(q.batches) > n && n > 0
	q.mu.Unlock()
	if full {
		q.signal()
	}
}

// Close ends the queue after the last Add, with the producer's error.
func (q *Queue) Close(err error) {
	q.mu.Lock()
	q.done, q.err = true, err
	q.mu.Unlock()
	q.signal()
}

func (q *Queue) signal() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// Next waits for the next full batch, or the last one once the queue is
// closed. It returns nil when there is no more, with the producer's error
// when it failed (then at once, leaving the batches not yet taken).
func (q *Queue) Next() ([]byte, error) {
	for {
		q.mu.Lock()
		if q.done && q.err != nil {
			// A failed listing sends no more.
			q.mu.Unlock()
			return nil, q.err
		}
		// A batch is full once another follows it; the last only once the
		// producer is done.
		if len(q.batches) > 1 || q.done && len(q.batches) > 0 {
			b := q.batches[0]
			q.batches = q.batches[1:]
			q.mu.Unlock()
			return b, nil
		}
		if q.done {
			q.mu.Unlock()
			return nil, nil
		}
		q.mu.Unlock()
		<-q.wake
	}
}

package task

import "sync"

// shimCalls is how many shims taskd asks at once when it asks them all
// (listing, recovering): each answer costs little CPU but a wake-up of an
// idle shim, and asked one after another those wake-ups add up to most of
// the time with hundreds of tasks.
const shimCalls = 16

// parallel calls fn(0..n-1), at most limit at a time, and returns when all
// returned.
func parallel(n, limit int, fn func(i int)) {
	if n < limit {
		limit = n
	}
	var wg sync.WaitGroup
	next := make(chan int)
	for w := 0; w < limit; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				fn(i)
			}
		}()
	}
	for i := 0; i < n; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
}

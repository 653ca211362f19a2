package cri

import (
	"errors"
	"sync"
)

// parallel runs independent steps of one call at once, so the call takes
// as long as its slowest step rather than their sum, and returns their
// errors joined.
func parallel(steps ...func() error) error {
	errs := make([]error, len(steps))
	var wg sync.WaitGroup
	for i, step := range steps[1:] {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i+1] = step()
		}()
	}
	errs[0] = steps[0]()
	wg.Wait()
	return errors.Join(errs...)
}

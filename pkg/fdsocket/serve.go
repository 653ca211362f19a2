package fdsocket

import (
	"context"
	"net"
	"sync"
)

// Serve accepts connections on l until ctx ends, runs handle for each on a
// goroutine of its own and closes the connection when handle returns. It
// returns once every handler has: a daemon stopping waits for the work
// under way (an apply, a commit) rather than cutting it off.
func Serve(ctx context.Context, l net.Listener, handle func(context.Context, *net.UnixConn)) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	stop := context.AfterFunc(ctx, func() { l.Close() })
	defer stop()
	for {
		c, err := l.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer c.Close()
			handle(ctx, c.(*net.UnixConn))
		}()
	}
}

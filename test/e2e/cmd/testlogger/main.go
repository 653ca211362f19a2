// Command testlogger is a binary:// logger for Berth's end-to-end tests,
// speaking the protocol containerd's shim uses with logging binaries: the
// container's stdout and stderr are fds 3 and 4, closing fd 5 says the
// logger is ready, CONTAINER_ID and CONTAINER_NAMESPACE name the container,
// each query parameter of the URI is an argument pair, and SIGTERM asks it
// to finish.
//
// It appends to the file named by its "out" argument: a start line with
// its pid, environment and arguments, each line it read as
// "stdout <line>" or "stderr <line>", and "exit" once both streams ended.
package main

import (
	"bufio"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
)

func main() {
	args := map[string]string{}
	for i := 1; i+1 < len(os.Args); i += 2 {
		args[os.Args[i]] = os.Args[i+1]
	}
	out, err := os.OpenFile(args["out"], os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	var mu sync.Mutex
	write := func(s string) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintln(out, s)
	}
	write(fmt.Sprintf("start pid=%d id=%s ns=%s args=%s env=%d", os.Getpid(), os.Getenv("CONTAINER_ID"),
		os.Getenv("CONTAINER_NAMESPACE"), strings.Join(os.Args[1:], ","), len(os.Environ())))
	signal.Notify(make(chan os.Signal, 1), syscall.SIGTERM) // finish the streams first
	var wg sync.WaitGroup
	for fd, name := range map[uintptr]string{3: "stdout", 4: "stderr"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sc := bufio.NewScanner(os.NewFile(fd, name))
			for sc.Scan() {
				write(name + " " + sc.Text())
			}
		}()
	}
	os.NewFile(5, "ready").Close()
	wg.Wait()
	write("exit")
	out.Close()
}

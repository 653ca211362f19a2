package shim

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"sort"
	"syscall"
	"time"

	runc "github.com/containerd/go-runc"
)

// processIDs name a process's container to a logger.
type processIDs struct {
	ID, Namespace string
}

// loggerStopTimeout is how long a logger may take to exit after SIGTERM
// before it is killed (containerd's shim waits as long).
const loggerStopTimeout = 12 * time.Second

// logger is a binary:// logging process, started as containerd's shim
// starts one: the URI's path is the binary, each query parameter is passed
// as the argument key followed by its first value, the environment holds
// only CONTAINER_ID and CONTAINER_NAMESPACE, and the process gets the read
// ends of the container's stdout and stderr as fds 3 and 4 and a readiness
// pipe as fd 5, which it closes (or writes to) once it is ready. The shim
// starts it, so it outlives taskd, and reaps it.
type logger struct {
	cmd            *exec.Cmd
	stdout, stderr *os.File // the write ends the shim copies output into
	exited         chan struct{}
}

func startLogger(o output, ids processIDs) (_ *logger, err error) {
	var args []string
	keys := make([]string, 0, len(o.query))
	for k := range o.query {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		args = append(args, k)
		if v := o.query[k]; len(v) > 0 {
			args = append(args, v[0])
		}
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		outR.Close()
		outW.Close()
		return nil, err
	}
	readyR, readyW, err := os.Pipe()
	if err != nil {
		for _, f := range []*os.File{outR, outW, errR, errW} {
			f.Close()
		}
		return nil, err
	}
	defer func() {
		// The logger holds its own copies; the shim keeps the write ends.
		for _, f := range []*os.File{outR, errR, readyR, readyW} {
			f.Close()
		}
		if err != nil {
			outW.Close()
			errW.Close()
		}
	}()
	cmd := exec.Command(o.path, args...)
	cmd.Env = []string{"CONTAINER_ID=" + ids.ID, "CONTAINER_NAMESPACE=" + ids.Namespace}
	cmd.ExtraFiles = []*os.File{outR, errR, readyW}
	// Its own process group: signals meant for the shim's are not its.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	l := &logger{cmd: cmd, stdout: outW, stderr: errW, exited: make(chan struct{})}
	// The shim's reaper (go-runc's Monitor) reaps it and reports its exit.
	exit, err := runc.Monitor.Start(cmd)
	if err != nil {
		return nil, fmt.Errorf("start logger %s: %w", o.path, err)
	}
	go func() {
		<-exit
		cmd.Wait() // already reaped: this only releases the process handle
		close(l.exited)
	}()
	readyW.Close()
	// Wait until the logger is ready: it closes (or writes to) fd 5.
	b := make([]byte, 1)
	if _, err := readyR.Read(b); err != nil && err != io.EOF {
		l.kill()
		return nil, fmt.Errorf("logger %s did not become ready: %w", o.path, err)
	}
	return l, nil
}

// stop lets the logger finish the output it read (the shim has closed its
// ends of the pipes by now), then stops it as containerd's shim does:
// SIGTERM, and SIGKILL if it is still there after loggerStopTimeout.
func (l *logger) stop() {
	select {
	case <-l.exited:
		return
	case <-time.After(time.Second):
	}
	l.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-l.exited:
	case <-time.After(loggerStopTimeout):
		l.kill()
	}
}

// kill ends the logger at once and waits until it is reaped.
func (l *logger) kill() {
	l.stdout.Close()
	l.stderr.Close()
	l.cmd.Process.Kill()
	<-l.exited
}

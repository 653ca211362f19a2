// Command berth-shim supervises one container for taskd: it drives runc,
// owns the container's stdio and exit status, and outlives taskd.
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"time"

	"berth.dev/services/taskd/internal/shim"
)

func main() {
	cfg, listenFD, err := parseArgs(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "berth-shim:", err)
		os.Exit(2)
	}
	// One shim per container: memory matters more than GC throughput, and
	// one idle container needs no parallelism (fewer threads, fewer caches).
	debug.SetGCPercent(25)
	runtime.GOMAXPROCS(1)
	if err := run(cfg, listenFD); err != nil {
		fmt.Fprintln(os.Stderr, "berth-shim:", err)
		os.Exit(1)
	}
}

// parseArgs reads the command line taskd gives (shim.Config.Args).
func parseArgs(args []string) (cfg shim.Config, listenFD bool, err error) {
	fs := flag.NewFlagSet("berth-shim", flag.ContinueOnError)
	fs.StringVar(&cfg.ID, "id", "", "container id")
	fs.StringVar(&cfg.Bundle, "bundle", "", "bundle directory (config.json, rootfs, the exit log)")
	fs.StringVar(&cfg.Socket, "socket", "", "unix socket to serve taskd on")
	fs.StringVar(&cfg.Namespace, "namespace", "", "the container's namespace (for binary:// loggers)")
	fs.StringVar(&cfg.Runtime, "runtime", "runc", "OCI runtime binary")
	fs.StringVar(&cfg.RuntimeRoot, "runtime-root", "", "runtime state root")
	fs.BoolVar(&listenFD, "listen-fd", false, "serve on the listening socket inherited as descriptor 3 (taskd binds it) instead of binding -socket")
	fs.BoolVar(&cfg.LegacyCgroupView, "legacy-cgroup-view", false, "run the runtime without the host's unified cgroup mount (crun on a hybrid cgroup host)")
	fs.BoolVar(&cfg.SystemdCgroup, "systemd-cgroup", false, "the spec's cgroups path names a systemd unit (slice:prefix:name) for the runtime to create")
	err = fs.Parse(args)
	return cfg, listenFD, err
}

func run(cfg shim.Config, listenFD bool) error {
	if cfg.ID == "" || cfg.Bundle == "" || cfg.Socket == "" {
		return fmt.Errorf("-id, -bundle and -socket are required")
	}
	svc, err := shim.NewService(cfg)
	if err != nil {
		return err
	}
	if err := svc.Serve(listenFD); err != nil {
		return err
	}
	// Let the answer to the call that stopped the shim reach taskd (a
	// call that never ends, say a Wait of an exec that never ran, is not
	// waited for long).
	svc.WaitCalls(50 * time.Millisecond)
	return nil
}

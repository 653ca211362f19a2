// Command berth-daemon is the one binary of Berth's four daemons. Started
// through a link named imaged, snapshotd, taskd or gateway (make build makes
// them beside it) it runs that daemon; `berth-daemon imaged` does the same.
// The daemons stay four processes with their own sockets, stores, logs and
// units; sharing one executable lets them share its pages of code, which
// make up most of an idle daemon's memory, instead of each mapping a copy.
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"

	"berth.dev/services/gateway/cmd/gateway"
	"berth.dev/services/imaged/cmd/imaged"
	"berth.dev/services/snapshotd/cmd/snapshotd"
	"berth.dev/services/taskd/cmd/taskd"
)

// daemons maps each daemon's name to its command.
var daemons = map[string]func(){
	"imaged":    imaged.Main,
	"snapshotd": snapshotd.Main,
	"taskd":     taskd.Main,
	"gateway":   gateway.Main,
}

func main() {
	// No daemon serves heap profiles, yet a dependency links the runtime's
	// profiler (NATS's profiling port), so the runtime records a sampled
	// allocation's stack every 512 KiB allocated and keeps each distinct
	// stack for good: 1.4 MiB per daemon after some work.
	runtime.MemProfileRate = 0
	name, args := daemonOf(os.Args)
	if name == "" {
		fmt.Fprintf(os.Stderr, "usage: berth-daemon %s [flags]\n  (or run it through a link named after the daemon)\n", strings.Join(names(), "|"))
		os.Exit(2)
	}
	if args[0] != os.Args[0] {
		// ps, top and pgrep see the daemon's name, as they do through a
		// link. Best effort: the name is cosmetic.
		os.WriteFile("/proc/self/comm", []byte(name), 0)
	}
	// The daemon sees its own name as the command and its flags after it.
	os.Args = args
	daemons[name]()
}

// daemonOf picks the daemon args name: the command's own name (a link), or
// its first argument. It returns the daemon's arguments, starting with its
// name, or "" when args name none.
func daemonOf(args []string) (string, []string) {
	if len(args) == 0 {
		return "", nil
	}
	if name := filepath.Base(args[0]); daemons[name] != nil {
		return name, args
	}
	if len(args) > 1 && daemons[args[1]] != nil {
		return args[1], args[1:]
	}
	return "", nil
}

func names() []string {
	out := make([]string, 0, len(daemons))
	for n := range daemons {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

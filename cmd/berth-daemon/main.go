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
	if run, ok := daemons[filepath.Base(os.Args[0])]; ok {
		run()
		return
	}
	if len(os.Args) > 1 {
		if run, ok := daemons[os.Args[1]]; ok {
			// The daemon sees its own name as the command and its flags
			// after it; ps, top and pgrep see the daemon's name too.
			os.Args = os.Args[1:]
			// (A link names the process by itself.) Best effort: a name
			// is cosmetic.
			os.WriteFile("/proc/self/comm", []byte(os.Args[0]), 0)
			run()
			return
		}
	}
	names := make([]string, 0, len(daemons))
	for n := range daemons {
		names = append(names, n)
	}
	sort.Strings(names)
	fmt.Fprintf(os.Stderr, "usage: berth-daemon %s [flags]\n  (or run it through a link with the daemon's name)\n", strings.Join(names, "|"))
	os.Exit(2)
}

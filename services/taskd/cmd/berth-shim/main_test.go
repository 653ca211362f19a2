package main

import (
	"testing"

	"berth.dev/services/taskd/internal/shim"
)

// TestArgsRoundTrip: what taskd puts on a shim's command line is what the
// shim reads back, every field included.
func TestArgsRoundTrip(t *testing.T) {
	for _, want := range []shim.Config{
		{ID: "c1", Bundle: "/b", Runtime: "crun", RuntimeRoot: "/r", Socket: "/s", Namespace: "k8s.io", LegacyCgroupView: true, SystemdCgroup: true},
		{ID: "c2", Bundle: "/b2", Runtime: "runc", RuntimeRoot: "/r2", Socket: "/s2", Namespace: "default"},
	} {
		got, listenFD, err := parseArgs(append(want.Args(), "-listen-fd"))
		if err != nil || !listenFD || got != want {
			t.Fatalf("parsed %+v (listen-fd %v, %v), want %+v", got, listenFD, err, want)
		}
	}
}

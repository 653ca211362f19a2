package main

import (
	"slices"
	"testing"
)

func TestDaemonOf(t *testing.T) {
	for _, tc := range []struct {
		args     []string
		name     string
		daemonAs []string
	}{
		{[]string{"/usr/local/bin/imaged", "--print-config"}, "imaged", []string{"/usr/local/bin/imaged", "--print-config"}},
		{[]string{"gateway"}, "gateway", []string{"gateway"}},
		{[]string{"/usr/local/bin/berth-daemon", "taskd", "-log-level", "debug"}, "taskd", []string{"taskd", "-log-level", "debug"}},
		{[]string{"berth-daemon", "snapshotd"}, "snapshotd", []string{"snapshotd"}},
		// A link's name wins over an argument that names another daemon.
		{[]string{"/bin/imaged", "taskd"}, "imaged", []string{"/bin/imaged", "taskd"}},
		{[]string{"berth-daemon"}, "", nil},
		{[]string{"berth-daemon", "shim"}, "", nil},
		{[]string{"berth-daemon", "--print-config"}, "", nil},
		{nil, "", nil},
	} {
		name, args := daemonOf(tc.args)
		if name != tc.name || !slices.Equal(args, tc.daemonAs) {
			t.Errorf("daemonOf(%q) = %q %q, want %q %q", tc.args, name, args, tc.name, tc.daemonAs)
		}
	}
}

func TestEveryDaemonHasACommand(t *testing.T) {
	// The daemons make build links to berth-daemon, and the units start.
	for _, d := range []string{"imaged", "snapshotd", "taskd", "gateway"} {
		if daemons[d] == nil {
			t.Errorf("no command for %s", d)
		}
	}
}

//go:build integration

package netns

import (
	"os"
	"testing"
)

func TestNewAndRemove(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	dir := t.TempDir()
	path, err := New(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { Remove(path) })
	if !Pinned(path) {
		t.Fatalf("%s is not a pinned namespace", path)
	}
	host, _ := os.Readlink("/proc/self/ns/net")
	if err := Remove(path); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("netns file left: %v", err)
	}
	if now, _ := os.Readlink("/proc/self/ns/net"); now != host {
		t.Fatalf("process left the host namespace: %s -> %s", host, now)
	}
	if err := Remove(path); err != nil {
		t.Fatalf("second remove: %v", err)
	}
}

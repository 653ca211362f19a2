package cni

import (
	"net"
	"slices"
	"testing"

	gocni "github.com/containerd/go-cni"
)

func TestIPv4First(t *testing.T) {
	got := sortIPs([]*gocni.IPConfig{{IP: net.ParseIP("fd00::5")}, {IP: net.ParseIP("10.88.0.5")}, {}})
	if !slices.Equal(got, []string{"10.88.0.5", "fd00::5"}) {
		t.Fatalf("got %v", got)
	}
}

func TestNotReadyWithoutConfig(t *testing.T) {
	n, err := New(t.TempDir(), []string{t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Ready(); err == nil {
		t.Fatal("ready without any network configuration")
	}
}

package spec

import (
	"encoding/json"
	"strings"
	"testing"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// TestImageConfigCannotReachTheHost: an image's config is untrusted bytes
// (CVE-2022-23648). Its Volumes, Labels and other fields must add no mount,
// no hook and no path on the host to the container's spec: a hostile config
// gives the same mounts, hooks and annotations as a bare one.
func TestImageConfigCannotReachTheHost(t *testing.T) {
	build := func(img ocispec.ImageConfig) string {
		t.Helper()
		s, err := ForContainer(Container{
			ID: "c1", SandboxID: "s1", SandboxPid: 42,
			Config:  &runtimeapi.ContainerConfig{Metadata: &runtimeapi.ContainerMetadata{Name: "app"}},
			Sandbox: &runtimeapi.PodSandboxConfig{Hostname: "pod"},
			Image:   img,
		})
		if err != nil {
			t.Fatal(err)
		}
		b, err := json.Marshal(struct{ Mounts, Hooks, Annotations, Devices any }{s.Mounts, s.Hooks, s.Annotations, s.Linux.Devices})
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	hostile := "/../../../../../../etc/hostile-marker"
	bare := build(ocispec.ImageConfig{Cmd: []string{"sh"}})
	got := build(ocispec.ImageConfig{
		Cmd: []string{"sh"},
		Volumes: map[string]struct{}{
			hostile:                 {},
			"/var/run/docker.sock":  {},
			"/run/berth/berth.sock": {},
		},
		Labels: map[string]string{
			"io.containerd.runc.v2.BinaryName":   hostile,
			"io.containerd.runtime.v2.logger":    "binary://" + hostile,
			"oci.hooks.prestart":                 hostile,
			"io.kubernetes.cri.sandbox-id":       "someone-else",
			"io.kubernetes.cri.container-type":   "sandbox",
			"com.github.containers.hooks.always": hostile,
		},
		StopSignal: "SIGKILL",
	})
	if got != bare {
		t.Fatalf("the image's config changed the spec's host-facing parts:\nbare:    %s\nhostile: %s", bare, got)
	}
	for _, s := range []string{"hostile-marker", "docker.sock", "berth.sock", "someone-else"} {
		if strings.Contains(got, s) {
			t.Errorf("spec mentions %q from the image: %s", s, got)
		}
	}
}

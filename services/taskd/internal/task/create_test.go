package task

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/containerd/containerd/api/types/runc/options"
	"github.com/containerd/typeurl/v2"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"google.golang.org/protobuf/types/known/anypb"
)

func TestRuntimeOptionsHonourBinaryNameAndCgroupDriver(t *testing.T) {
	opts := func(o *options.Options) *anypb.Any {
		a, err := typeurl.MarshalAnyToProto(o)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	if rc := runtimeOptions("runc", nil, opts(&options.Options{BinaryName: "crun"})); rc.Binary != "crun" || rc.SystemdCgroup {
		t.Fatalf("%+v", rc)
	}
	if rc := runtimeOptions("", nil, nil); rc.Binary != "runc" {
		t.Fatalf("default binary %q", rc.Binary)
	}
	if rc := runtimeOptions("crun", nil, nil); rc.Binary != "crun" {
		t.Fatalf("configured default ignored: %q", rc.Binary)
	}
	// The CRI's pods on systemd's cgroup driver: the container's options.
	if rc := runtimeOptions("crun", nil, opts(&options.Options{SystemdCgroup: true})); rc.Binary != "crun" || !rc.SystemdCgroup {
		t.Fatalf("%+v", rc)
	}
	// The task's options come first.
	rc := runtimeOptions("runc", opts(&options.Options{BinaryName: "runc"}), opts(&options.Options{BinaryName: "crun", SystemdCgroup: true}))
	if rc.Binary != "runc" || rc.SystemdCgroup {
		t.Fatalf("%+v", rc)
	}
}

func TestWriteSpecClampsOOMScoreAdj(t *testing.T) {
	adj := -999
	spec := specs.Spec{Version: "1.0.2", Process: &specs.Process{OOMScoreAdj: &adj, Args: []string{"true"}}}
	b, _ := json.Marshal(spec)
	dir := t.TempDir()
	if err := writeSpec(dir, "runc", &anypb.Any{TypeUrl: "types.containerd.io/opencontainers/runtime-spec/1/Spec", Value: b}); err != nil {
		t.Fatal(err)
	}
	var got specs.Spec
	data, _ := os.ReadFile(filepath.Join(dir, "config.json"))
	json.Unmarshal(data, &got)
	if *got.Process.OOMScoreAdj != ownOOMScoreAdj() {
		t.Fatalf("oom_score_adj %d, want taskd's own %d", *got.Process.OOMScoreAdj, ownOOMScoreAdj())
	}
	if err := writeSpec(dir, "runc", &anypb.Any{Value: []byte("{not json")}); err == nil {
		t.Fatal("a malformed spec was written")
	}
}

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

func TestRuntimeBinaryHonoursBinaryName(t *testing.T) {
	opts, _ := typeurl.MarshalAnyToProto(&options.Options{BinaryName: "crun"})
	if bin, _ := runtimeBinary("runc", nil, opts); bin != "crun" {
		t.Fatalf("binary %q", bin)
	}
	if bin, _ := runtimeBinary("", nil, nil); bin != "runc" {
		t.Fatalf("default binary %q", bin)
	}
	if bin, _ := runtimeBinary("crun", nil, nil); bin != "crun" {
		t.Fatalf("configured default ignored: %q", bin)
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

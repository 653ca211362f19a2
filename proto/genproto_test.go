package proto_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestGeneratedCodeIsCurrent regenerates every proto into a temporary
// directory and compares it with the committed code.
func TestGeneratedCodeIsCurrent(t *testing.T) {
	if _, err := exec.LookPath("protoc"); err != nil {
		t.Fatalf("protoc is needed to check the generated code (apt-get install protobuf-compiler): %v", err)
	}
	out := t.TempDir()
	cmd := exec.Command("../scripts/genproto")
	cmd.Env = append(os.Environ(), "OUT="+out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("genproto: %v\n%s", err, b)
	}
	checked := 0
	err := filepath.Walk(out, func(path string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(out, path)
		want, _ := os.ReadFile(path)
		got, err := os.ReadFile(rel)
		if err != nil {
			t.Errorf("%s is not committed: run scripts/genproto", rel)
			return nil
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s is stale: run scripts/genproto", rel)
		}
		checked++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// Committed files without a proto behind them are stale too.
	filepath.Walk("berth", func(path string, info os.FileInfo, err error) error {
		if err == nil && strings.HasSuffix(path, ".pb.go") {
			if _, err := os.Stat(filepath.Join(out, path)); err != nil {
				t.Errorf("%s has no proto: remove it", path)
			}
		}
		return nil
	})
	if checked == 0 {
		t.Fatal("genproto generated nothing")
	}
}

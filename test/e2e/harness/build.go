package harness

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// Daemons are started in this order and stopped in reverse.
var Daemons = []string{"imaged", "snapshotd", "taskd", "gateway"}

var (
	buildOnce sync.Once
	binDir    string
	buildErr  error
)

// RepoRoot returns the directory holding go.work.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.work")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("go.work not found above the working directory")
		}
		dir = parent
	}
}

// binaries maps each binary to its main package. The daemons are links to
// berth-daemon, as make build lays them out.
var binaries = map[string]string{
	"berth-daemon": "./cmd/berth-daemon",
	"berth-shim":   "./services/taskd/cmd/berth-shim",
	"berth":        "./cmd/berth",
}

// Binaries builds every daemon once per test process (BERTH_BIN_DIR skips
// the build and uses prebuilt binaries) and returns their directory.
func Binaries(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		if dir := os.Getenv("BERTH_BIN_DIR"); dir != "" {
			binDir = dir
			return
		}
		root, err := RepoRoot()
		if err != nil {
			buildErr = err
			return
		}
		binDir, err = os.MkdirTemp("", "berth-bin-")
		if err != nil {
			buildErr = err
			return
		}
		ldflags := "-s -w"
		if rev := Revision(root); rev != "" {
			ldflags += " -X main.revision=" + rev + " -X berth.dev/services/gateway/cmd/gateway.revision=" + rev
		}
		// The tags make build uses (see the Makefile).
		args := []string{"build", "-trimpath", "-tags", "grpcnotrace", "-ldflags", ldflags, "-o", binDir + "/"}
		for _, pkg := range binaries {
			if _, err := os.Stat(filepath.Join(root, pkg)); err == nil {
				args = append(args, pkg)
			}
		}
		cmd := exec.Command("go", args...)
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
			return
		}
		for _, d := range Daemons {
			if err := os.Symlink("berth-daemon", filepath.Join(binDir, d)); err != nil {
				buildErr = err
				return
			}
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binDir
}

// Revision is the revision make build stamps into the binaries: the commit
// checked out in root, with ".m" when the tree has changes; empty outside a
// git checkout.
func Revision(root string) string {
	out, err := exec.Command("git", "-C", root, "rev-parse", "HEAD").Output()
	if err != nil {
		return ""
	}
	rev := strings.TrimSpace(string(out))
	if exec.Command("git", "-C", root, "diff", "--no-ext-diff", "--quiet", "HEAD", "--").Run() != nil {
		rev += ".m"
	}
	return rev
}

// Has reports whether a binary was built (a daemon may not exist yet).
func Has(t testing.TB, name string) bool {
	_, err := os.Stat(filepath.Join(Binaries(t), name))
	return err == nil
}

// Main runs a test binary's tests and removes the binaries built for them.
// Use it from TestMain.
func Main(m *testing.M) int {
	code := m.Run()
	if binDir != "" && os.Getenv("BERTH_BIN_DIR") == "" {
		os.RemoveAll(binDir)
	}
	return code
}

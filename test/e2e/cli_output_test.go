//go:build e2e

package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"berth.dev/test/e2e/harness"
)

// decodeLines parses one JSON object per line and fails on anything else.
func decodeLines(t *testing.T, out string) []map[string]any {
	t.Helper()
	var rows []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("not JSON: %q: %v", line, err)
		}
		rows = append(rows, m)
	}
	return rows
}

// TestCLIOutputForScripts checks that --format json parses and -q prints
// bare names, for every listing, and that events stream as JSON.
func TestCLIOutputForScripts(t *testing.T) {
	st := harness.Start(t)
	c := newCLI(t, st)
	c.cleanup(t)
	img := c.importBusybox(t)

	ctx, cancel := context.WithCancel(context.Background())
	events := c.command(ctx, "events", "--format", "json", "--filter", `topic=="/tasks/exit"`)
	pipe, _ := events.StdoutPipe()
	if err := events.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cancel(); events.Wait() }()
	lines := make(chan string, 4)
	go func() {
		sc := bufio.NewScanner(pipe)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()

	c.must(t, "run", "--name", "j1", img, "true")
	if rows := decodeLines(t, c.must(t, "images", "ls", "--format", "json")); len(rows) != 1 || rows[0]["name"] != img {
		t.Fatalf("images json: %v", rows)
	}
	if out := c.must(t, "images", "-q"); strings.TrimSpace(out) != img {
		t.Fatalf("images -q: %q", out)
	}
	if rows := decodeLines(t, c.must(t, "ps", "-a", "--format", "json")); len(rows) != 1 || rows[0]["id"] != "j1" {
		t.Fatalf("ps json: %v", rows)
	}
	found := false
	for _, r := range decodeLines(t, c.must(t, "namespace", "ls", "--format", "json")) {
		found = found || r["name"] == c.ns
	}
	if !found {
		t.Fatalf("namespace %s not listed", c.ns)
	}
	var info struct {
		Version string `json:"version"`
		Daemons []struct {
			Name, Health string
		} `json:"daemons"`
		NATS string `json:"nats"`
	}
	if err := json.Unmarshal([]byte(c.must(t, "system", "info", "--format", "json")), &info); err != nil {
		t.Fatal(err)
	}
	if len(info.Daemons) != 4 || info.Version == "" || !strings.Contains(info.NATS, "reachable") {
		t.Fatalf("system info: %+v", info)
	}
	for _, d := range info.Daemons {
		if d.Health != "serving" {
			t.Fatalf("%s is %q", d.Name, d.Health)
		}
	}
	if rows := decodeLines(t, c.must(t, "system", "df", "--format", "json")); len(rows) != 3 || rows[0]["size"].(float64) <= 0 {
		t.Fatalf("system df: %v", rows)
	}
	var v struct{ Client, Server struct{ Version string } }
	if err := json.Unmarshal([]byte(c.must(t, "version", "--format", "json")), &v); err != nil || v.Server.Version == "" {
		t.Fatalf("version: %+v %v", v, err)
	}
	var inspected []map[string]any
	if err := json.Unmarshal([]byte(c.must(t, "inspect", "j1")), &inspected); err != nil || inspected[0]["id"] != "j1" {
		t.Fatalf("inspect: %v", err)
	}
	if err := json.Unmarshal([]byte(c.must(t, "images", "inspect", img)), &inspected); err != nil || inspected[0]["name"] != img {
		t.Fatalf("images inspect: %v", err)
	}
	select {
	case line := <-lines:
		if ev := decodeLines(t, line); ev[0]["topic"] != "/tasks/exit" || ev[0]["namespace"] != c.ns {
			t.Fatalf("event %v", ev)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("no /tasks/exit event printed")
	}

	// Tags, removal and export by name.
	c.must(t, "images", "tag", img, "berth.local/other:2")
	if out := c.must(t, "images", "rm", "berth.local/other:2"); strings.TrimSpace(out) != "berth.local/other:2" {
		t.Fatalf("rm: %q", out)
	}
	if res := c.run(t, nil, "images", "rm", img); res.code == 0 || !strings.Contains(res.stderr, "used by container j1") {
		t.Fatalf("rm of a used image: %s", res)
	}
	c.must(t, "export", "-o", filepath.Join(t.TempDir(), "x.tar"), img)
}

// TestCLICompletionAndErrors loads the completion scripts in bash and
// checks what berth says when the node or one daemon is down.
func TestCLICompletionAndErrors(t *testing.T) {
	st := harness.Start(t)
	c := newCLI(t, st)
	bin := filepath.Join(st.Bin, "berth")
	// As in a person's interactive shell: bash-completion, then berth's script.
	script := `source /usr/share/bash-completion/bash_completion && source <("$BERTH" completion bash) && complete -p berth && COMP_WORDS=(berth ru) COMP_CWORD=1 COMP_LINE="berth ru" COMP_POINT=8 && __start_berth && echo "${COMPREPLY[@]}"`
	cmd := exec.Command("bash", "-c", script)
	cmd.Env = append(cmd.Environ(), "BERTH="+bin, "PATH="+st.Bin+":"+os.Getenv("PATH"))
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "__start_berth") || !strings.Contains(string(out), "run") {
		t.Fatalf("bash completion: %v\n%s", err, out)
	}
	// Names come from the node: containers for rm, images for run.
	img := c.importBusybox(t)
	c.must(t, "run", "--name", "complete-me", img, "true")
	if out := c.must(t, "__complete", "rm", ""); !strings.Contains(out, "complete-me\n") {
		t.Fatalf("container names: %q", out)
	}
	if out := c.must(t, "__complete", "run", "berth.l"); !strings.Contains(out, img+"\n") {
		t.Fatalf("image names: %q", out)
	}
	if zsh, err := exec.LookPath("zsh"); err == nil {
		cmd := exec.Command(zsh, "-c", `autoload -U compinit && compinit -u && source <("$BERTH" completion zsh) && echo loaded`)
		cmd.Env = append(cmd.Environ(), "BERTH="+bin)
		if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), "loaded") {
			t.Fatalf("zsh completion: %v\n%s", err, out)
		}
	}

	c.must(t, "rm", "complete-me")
	st.Stop(t, "taskd")
	res := c.run(t, nil, "ps")
	if res.code != 125 || !strings.Contains(res.stderr, "taskd daemon is not running") || !strings.Contains(res.stderr, "systemctl start berth-taskd") {
		t.Fatalf("taskd down: %s", res)
	}
	// Someone without access to the socket is told so, not shown a timeout.
	nobody := copyForNobody(t, bin)
	cmd = exec.Command(nobody, "--address", st.Socket, "images")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err = cmd.CombinedOutput()
	if code := cmd.ProcessState.ExitCode(); code != 125 || !strings.Contains(string(out), "permission denied on the node socket") {
		t.Fatalf("as nobody: exit %d %v: %s", code, err, out)
	}
	gone := &cliEnv{st: &harness.Stack{Bin: st.Bin, Socket: filepath.Join(t.TempDir(), "berth.sock")}, ns: "default"}
	res = gone.run(t, nil, "images")
	if res.code != 125 || !strings.Contains(res.stderr, "Berth is not running") || !strings.Contains(res.stderr, "make up") {
		t.Fatalf("no node: %s", res)
	}
}

// copyForNobody puts the berth binary where an unprivileged user can run it.
func copyForNobody(t *testing.T, bin string) string {
	dir, err := os.MkdirTemp("/tmp", "berth-cli-nobody-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755)
	data, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(dir, "berth")
	if err := os.WriteFile(dst, data, 0o755); err != nil {
		t.Fatal(err)
	}
	return dst
}

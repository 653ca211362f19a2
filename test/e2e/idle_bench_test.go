//go:build e2e

package e2e

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"berth.dev/test/e2e/harness"
)

// Baselines the idle figures are set beside, each started on a temporary
// root, state and socket of its own: never the system's daemon.
// The environment variable overrides the default path, as in scripts/bench.
var idleBaselines = []struct{ name, env, bin string }{
	{"containerd1.6", "CONTAINERD_BIN", "/usr/bin/containerd"},
	{"containerd2", "CONTAINERD2_BIN", "/work/tools/containerd/bin/containerd"},
}

// BenchmarkIdleRSS reports each daemon's resident memory after the stack has
// been idle for a few seconds, and their sums (the gateway includes the
// embedded NATS server), beside containerd's single daemon (1.6 and 2,
// whichever are installed: CONTAINERD_BIN and CONTAINERD2_BIN override the
// paths) started in the same run. RSS counts a page shared by several
// processes (the text of a binary they all map) in each of them; PSS splits
// it among them, so the PSS sum is what the daemons together hold (another
// stack started from the same binary while this runs would take its share).
func BenchmarkIdleRSS(b *testing.B) {
	st := harness.Start(b)
	var baselines []int
	for _, bl := range idleBaselines {
		bin := bl.bin
		if env := os.Getenv(bl.env); env != "" {
			bin = env
		}
		if _, err := os.Stat(bin); err != nil {
			b.Logf("no %s at %s: not measured", bl.name, bin)
			baselines = append(baselines, 0)
			continue
		}
		baselines = append(baselines, startContainerd(b, bin))
	}
	for i := 0; i < b.N; i++ {
		time.Sleep(3 * time.Second) // idle is the point: there is no condition to wait for
	}
	var sum memory
	for _, name := range harness.Daemons {
		pid := st.Pid(name)
		if pid == 0 {
			continue
		}
		m := memOf(b, pid)
		sum = sum.plus(m)
		b.ReportMetric(m.rss, name+"-MiB")
		b.ReportMetric(m.pss, name+"-PSS-MiB")
		logMemory(b, name, m)
	}
	b.ReportMetric(sum.rss, "total-MiB")
	b.ReportMetric(sum.pss, "total-PSS-MiB")
	logMemory(b, "berth (sum)", sum)
	for i, pid := range baselines {
		if pid == 0 {
			continue
		}
		m := memOf(b, pid)
		name := idleBaselines[i].name
		b.ReportMetric(m.rss, name+"-MiB")
		b.ReportMetric(m.pss, name+"-PSS-MiB")
		b.ReportMetric(sum.pss/m.pss, "PSS-ratio-to-"+name)
		logMemory(b, name, m)
	}
}

// startContainerd runs bin with its default plugins (the CRI included, as
// the gateway serves one) on a temporary root, state and sockets, and
// returns its pid once its socket is there. NRI is off: its socket has a
// fixed path the system's containerd may own.
func startContainerd(b *testing.B, bin string) int {
	b.Helper()
	dir, err := os.MkdirTemp("/tmp", "berth-ctrd-")
	if err != nil {
		b.Fatal(err)
	}
	sock := filepath.Join(dir, "containerd.sock")
	config := fmt.Sprintf(`version = 2
root = %[1]q
state = %[2]q
disabled_plugins = ["io.containerd.nri.v1.nri"]
[grpc]
  address = %[3]q
[ttrpc]
  address = "%[3]s.ttrpc"
[debug]
  level = "warn"
[metrics]
  address = ""
`, filepath.Join(dir, "root"), filepath.Join(dir, "state"), sock)
	if err := os.WriteFile(filepath.Join(dir, "config.toml"), []byte(config), 0o600); err != nil {
		b.Fatal(err)
	}
	logf, err := os.Create(filepath.Join(dir, "log"))
	if err != nil {
		b.Fatal(err)
	}
	defer logf.Close()
	cmd := exec.Command(bin, "--config", filepath.Join(dir, "config.toml"))
	cmd.Env = harness.Environ()
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	b.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		if err := harness.Cleanup(dir); err != nil {
			b.Logf("remove %s: %v", dir, err)
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		if _, err := os.Stat(sock); err == nil {
			return cmd.Process.Pid
		}
		select {
		case <-done:
			log, _ := os.ReadFile(filepath.Join(dir, "log"))
			b.Fatalf("%s exited:\n%s", bin, log)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			b.Fatalf("%s did not create %s", bin, sock)
		}
	}
}

// memory is a process's RSS and PSS in MiB, each split into file-backed
// pages (mapped binary text and data) and anonymous ones (heap, stacks).
type memory struct{ rss, rssFile, rssAnon, pss, pssFile, pssAnon float64 }

// memOf reads a process's memory in MiB from /proc/<pid>/smaps_rollup.
func memOf(b *testing.B, pid int) memory {
	f, err := os.Open(fmt.Sprintf("/proc/%d/smaps_rollup", pid))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	fields := map[string]float64{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 3 && f[2] == "kB" {
			kb, _ := strconv.Atoi(f[1])
			fields[strings.TrimSuffix(f[0], ":")] = float64(kb) / 1024
		}
	}
	if _, ok := fields["Pss"]; !ok {
		b.Fatalf("no Pss in /proc/%d/smaps_rollup", pid)
	}
	return memory{rss: fields["Rss"], rssFile: fields["Rss"] - fields["Anonymous"], rssAnon: fields["Anonymous"],
		pss: fields["Pss"], pssFile: fields["Pss_File"], pssAnon: fields["Pss_Anon"]}
}

func (m memory) plus(o memory) memory {
	return memory{m.rss + o.rss, m.rssFile + o.rssFile, m.rssAnon + o.rssAnon, m.pss + o.pss, m.pssFile + o.pssFile, m.pssAnon + o.pssAnon}
}

func logMemory(b *testing.B, name string, m memory) {
	b.Logf("%-14s RSS %5.1f MiB (file %4.1f, anon %4.1f)  PSS %5.1f MiB (file %4.1f, anon %4.1f)",
		name, m.rss, m.rssFile, m.rssAnon, m.pss, m.pssFile, m.pssAnon)
}

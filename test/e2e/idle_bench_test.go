//go:build e2e

package e2e

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/leases"
	"github.com/containerd/containerd/v2/core/snapshots"
	"github.com/containerd/containerd/v2/pkg/namespaces"
	"github.com/containerd/containerd/v2/pkg/oci"

	"berth.dev/test/e2e/harness"
)

// Baselines the idle figures are set beside, each started on a temporary
// root, state and socket of its own: never the system's daemon.
// The environment variable overrides the default path, as in scripts/bench.
var idleBaselines = []struct{ name, env, bin string }{
	{"containerd1.6", "CONTAINERD_BIN", "/usr/bin/containerd"},
	{"containerd2", "CONTAINERD2_BIN", "/opt/containerd2/bin/containerd"},
}

// BenchmarkIdleRSS reports each daemon's resident memory after the stack has
// been idle for a few seconds, and their sums (the gateway includes the
// embedded NATS server), beside containerd's single daemon (1.6 and 2,
// whichever are installed: CONTAINERD_BIN and CONTAINERD2_BIN override the
// paths) started in the same run. RSS counts a page shared by several
// processes (the text of a binary they all map) in each of them; PSS splits
// it among them, so the PSS sum is what the daemons together hold (another
// stack started from the same binary while this runs would take its share).
// Then every runtime gets the same work (namespaces, leases, snapshots and
// containers created and removed) and is measured again once idle: what a
// node that has done something holds ("after-work" figures).
func BenchmarkIdleRSS(b *testing.B) {
	st := harness.Start(b)
	berth := runtimeUnderTest{name: "berth", socket: st.Socket}
	for _, d := range harness.Daemons {
		if pid := st.Pid(d); pid != 0 {
			berth.pids = append(berth.pids, pid)
			berth.daemons = append(berth.daemons, d)
		}
	}
	runtimes := []runtimeUnderTest{berth}
	for _, bl := range idleBaselines {
		bin := bl.bin
		if env := os.Getenv(bl.env); env != "" {
			bin = env
		}
		if _, err := os.Stat(bin); err != nil {
			b.Logf("no %s at %s: not measured", bl.name, bin)
			continue
		}
		pid, socket := startContainerd(b, bin)
		runtimes = append(runtimes, runtimeUnderTest{name: bl.name, socket: socket, pids: []int{pid}, daemons: []string{bl.name}})
	}
	for i := 0; i < b.N; i++ {
		time.Sleep(3 * time.Second) // idle is the point: there is no condition to wait for
	}
	report(b, runtimes, "")
	for _, rt := range runtimes {
		idleWork(b, rt.socket, 300)
	}
	// Berth's daemons give memory back after 10 s without work
	// (pkg/daemon); containerd is given the same time.
	time.Sleep(25 * time.Second)
	report(b, runtimes, "after-work-")
}

// runtimeUnderTest is Berth's four daemons or one containerd.
type runtimeUnderTest struct {
	name, socket string
	pids         []int
	daemons      []string
}

// report reports each runtime's processes and sums, and Berth's PSS as a
// ratio to each containerd's RSS: containerd is one process, so its RSS is
// all it holds, while its PSS drops whenever another process maps the same
// binary (a containerd someone else runs on the machine).
func report(b *testing.B, runtimes []runtimeUnderTest, prefix string) {
	var berthPSS float64
	for i, rt := range runtimes {
		var sum memory
		for j, pid := range rt.pids {
			m := memOf(b, pid)
			sum = sum.plus(m)
			if len(rt.pids) > 1 {
				b.ReportMetric(m.rss, prefix+rt.daemons[j]+"-MiB")
				b.ReportMetric(m.pss, prefix+rt.daemons[j]+"-PSS-MiB")
				logMemory(b, prefix+rt.daemons[j], m)
			}
		}
		name := rt.name
		if i == 0 {
			berthPSS = sum.pss
			name = "total"
		} else {
			b.ReportMetric(berthPSS/sum.rss, prefix+"PSS-ratio-to-"+rt.name)
		}
		b.ReportMetric(sum.rss, prefix+name+"-MiB")
		b.ReportMetric(sum.pss, prefix+name+"-PSS-MiB")
		logMemory(b, prefix+rt.name, sum)
	}
}

// idleWork creates and removes, rounds times each and side by side, a
// namespace, a lease, a snapshot and a container through socket, each with
// a label of a few hundred bytes, and fails on any error.
func idleWork(b *testing.B, socket string, rounds int) {
	client, err := containerd.New(socket, containerd.WithTimeout(10*time.Second))
	if err != nil {
		b.Fatal(err)
	}
	defer client.Close()
	ns := fmt.Sprintf("idlework%d", rand.Int32())
	ctx := namespaces.WithNamespace(context.Background(), ns)
	label := map[string]string{"berth.test/payload": strings.Repeat("x", 300)}
	// containerd collects snapshots nothing holds, a prepared one included.
	hold, err := client.LeasesService().Create(ctx, leases.WithRandomID())
	if err != nil {
		b.Fatal(err)
	}
	held := leases.WithLease(ctx, hold.ID)
	work := map[string]func(i int) error{
		"namespace": func(i int) error {
			name := fmt.Sprintf("%s-%d", ns, i)
			if err := client.NamespaceService().Create(ctx, name, label); err != nil {
				return err
			}
			return client.NamespaceService().Delete(ctx, name)
		},
		"lease": func(i int) error {
			l, err := client.LeasesService().Create(ctx, leases.WithRandomID(), leases.WithLabels(label))
			if err != nil {
				return err
			}
			return client.LeasesService().Delete(ctx, l)
		},
		"snapshot": func(i int) error {
			key := fmt.Sprintf("idle-%d", i)
			sn := client.SnapshotService("overlayfs")
			if _, err := sn.Prepare(held, key, "", snapshots.WithLabels(label)); err != nil {
				return err
			}
			return sn.Remove(held, key)
		},
		"container": func(i int) error {
			id := fmt.Sprintf("idle-%d", i)
			if _, err := client.NewContainer(ctx, id, containerd.WithNewSpec(oci.WithProcessArgs("true")),
				containerd.WithContainerLabels(label)); err != nil {
				return err
			}
			return client.ContainerService().Delete(ctx, id)
		},
	}
	errs := make(chan error, len(work))
	for what, fn := range work {
		go func() {
			for i := 0; i < rounds; i++ {
				if err := fn(i); err != nil {
					errs <- fmt.Errorf("%s %d on %s: %w", what, i, socket, err)
					return
				}
			}
			errs <- nil
		}()
	}
	for range work {
		if err := <-errs; err != nil {
			b.Fatal(err)
		}
	}
	if err := client.LeasesService().Delete(ctx, hold); err != nil {
		b.Fatal(err)
	}
	if err := client.NamespaceService().Delete(context.Background(), ns); err != nil {
		b.Fatal(err)
	}
}

// startContainerd runs bin with its default plugins (the CRI included, as
// the gateway serves one) on a temporary root, state and sockets, and
// returns its pid and socket once the socket is there. NRI is off: its socket has a
// fixed path the system's containerd may own.
func startContainerd(b *testing.B, bin string) (int, string) {
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
	cmd, done := runContainerd(b, bin, dir, "log", harness.Environ())
	deadline := time.Now().Add(20 * time.Second)
	for {
		if _, err := os.Stat(sock); err == nil {
			return cmd.Process.Pid, sock
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

//go:build chaos

package chaos

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/containerd/containerd/v2/core/content"
	"github.com/containerd/containerd/v2/core/images"
	"github.com/containerd/containerd/v2/core/leases"
	"github.com/containerd/containerd/v2/core/snapshots"
)

// loop runs the load for d and injects faults at seeded random moments,
// each kind in turn in a seeded order, checking every invariant after each.
func (r *run) loop(d time.Duration) {
	until := time.Now().Add(d)
	r.ensureRunners()
	r.check()
	clients := r.load(until)
	chosen := selectFaults(*faultsFlag)
	if len(chosen) == 0 {
		r.t.Fatalf("-faults %q names no fault", *faultsFlag)
	}
	order := r.rng.Perm(len(chosen))
	for i := 0; ; i++ {
		// Exponential waits, bounded, around the mean.
		wait := time.Duration(math.Min(3, math.Max(0.2, r.rng.ExpFloat64())) * float64(*faultEvery))
		if time.Now().Add(wait).After(until) {
			break
		}
		time.Sleep(wait)
		if i == len(order) {
			order, i = r.rng.Perm(len(chosen)), 0
		}
		f := chosen[order[i]]
		r.phaseV.Store(f.name)
		injected := f.inject(r)
		r.stats.fault(f.name, injected)
		fmt.Printf("chaos: %s fault %s (injected %v)\n", time.Now().Format("15:04:05"), f.name, injected)
		r.gate.Lock()
		r.check()
		r.ensureRunners()
		r.gate.Unlock()
	}
	clients.Wait()
}

// finish checks once more, removes everything the load made, and checks
// that garbage collection freed what nothing references any more.
func (r *run) finish() {
	r.phaseV.Store("end")
	r.check()
	r.removeAll()
	r.phaseV.Store("collected")
	r.eventually("gc-kept-unreferenced", r.uncollected)
	// Partial downloads of imaged's own pulls stay for a retry to resume,
	// but only until the ingest timeout: once the youngest has outlived
	// it, nothing may be left.
	r.awaitIngestTimeout()
	r.phaseV.Store("ingest-timeout")
	r.eventually("gc-kept-unreferenced", r.uncollected)
	r.check()
}

// removeAll deletes every container, image and lease in the run's
// namespaces, the last image delete collecting garbage.
func (r *run) removeAll() {
	for _, ns := range r.namespaces {
		ctx, cancel := r.ctx(ns, 2*time.Minute)
		ctrs, err := r.client.Containers(ctx)
		if err != nil {
			r.stats.violate("daemon-unhealthy", r.phase(), "containers in %s: %v", ns, err)
		}
		for _, c := range ctrs {
			r.removeContainer(ns, c.ID())
		}
		ls, _ := r.client.LeasesService().List(ctx)
		for _, l := range ls {
			r.client.LeasesService().Delete(ctx, l)
		}
		imgs, _ := r.client.ImageService().List(ctx)
		for _, img := range imgs {
			if err := r.client.ImageService().Delete(ctx, img.Name, images.SynchronousDelete()); err != nil {
				r.stats.violate("daemon-unhealthy", r.phase(), "delete image %s in %s: %v", img.Name, ns, err)
			}
		}
		// A lease delete with sync collects even when there was no image.
		if l, err := r.client.LeasesService().Create(ctx, leases.WithRandomID()); err == nil {
			r.client.LeasesService().Delete(ctx, l, leases.SynchronousDelete)
		}
		cancel()
	}
	r.runners.list = nil
}

// uncollected lists what survived a collection with nothing referencing
// anything: blobs, snapshots, ingests. (Snapshot directories are compared
// with the records by every check.)
func (r *run) uncollected() []string {
	var out []string
	for _, ns := range r.allNamespaces() {
		ctx, cancel := r.ctx(ns, 30*time.Second)
		r.client.ContentStore().Walk(ctx, func(info content.Info) error {
			out = append(out, fmt.Sprintf("blob %s/%s (labels %v)", ns, info.Digest, info.Labels))
			return nil
		})
		r.client.SnapshotService("overlayfs").Walk(ctx, func(_ context.Context, info snapshots.Info) error {
			out = append(out, fmt.Sprintf("snapshot %s/%s (%s, labels %v)", ns, info.Name, info.Kind, info.Labels))
			return nil
		})
		cancel()
	}
	for _, dir := range []string{
		filepath.Join(contentDir(r.st), "blobs", "sha256"),
		filepath.Join(contentDir(r.st), "ingest"),
	} {
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			path := filepath.Join(dir, e.Name())
			left := strings.TrimPrefix(path, r.st.Root+"/")
			// A partial download of imaged's own pull stays for a retry
			// to resume, until the ingest timeout removes it.
			if strings.HasSuffix(dir, "ingest") && isPullIngest(path) {
				age := time.Since(lastWrite(path))
				if age < ingestTimeout+ingestSlack {
					continue
				}
				left = fmt.Sprintf("pull-ingest-kept|%s, nothing written to it for %s (ingest timeout %s)", left, age.Round(time.Second), ingestTimeout)
			}
			out = append(out, left)
		}
	}
	return out
}

// awaitIngestTimeout waits until every partial download of a pull left
// in the content store has outlived the ingest timeout and imaged's next
// look at it.
func (r *run) awaitIngestTimeout() {
	dir := filepath.Join(contentDir(r.st), "ingest")
	entries, _ := os.ReadDir(dir)
	var youngest time.Time
	for _, e := range entries {
		path := filepath.Join(dir, e.Name())
		if w := lastWrite(path); isPullIngest(path) && w.After(youngest) {
			youngest = w
		}
	}
	if wait := time.Until(youngest.Add(ingestTimeout + ingestSlack)); wait > 0 {
		fmt.Printf("chaos: waiting %s for pulls' partial downloads to reach the ingest timeout\n", wait.Round(time.Second))
		time.Sleep(wait)
	}
}

// lastWrite is when an ingest was last opened or written to, as imaged
// judges it.
func lastWrite(dir string) time.Time {
	var last time.Time
	for _, name := range []string{"meta.json", "data", ""} {
		if st, err := os.Stat(filepath.Join(dir, name)); err == nil && st.ModTime().After(last) {
			last = st.ModTime()
		}
	}
	return last
}

func isPullIngest(dir string) bool { return ingestRef(dir)[:5] == "pull-" }

// selectFaults returns the faults named in a comma-separated list, or all.
func selectFaults(list string) []fault {
	if list == "" {
		return faults
	}
	var out []fault
	for _, name := range strings.Split(list, ",") {
		for _, f := range faults {
			if f.name == strings.TrimSpace(name) {
				out = append(out, f)
			}
		}
	}
	return out
}

// ingestRef reads the ref an ingest directory was opened with (padded so
// that a prefix can be compared).
func ingestRef(dir string) string {
	var m struct {
		Ref string `json:"ref"`
	}
	b, _ := os.ReadFile(filepath.Join(dir, "meta.json"))
	json.Unmarshal(b, &m)
	return m.Ref + "     "
}

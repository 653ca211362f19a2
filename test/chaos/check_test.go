//go:build chaos

package chaos

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	tasksapi "github.com/containerd/containerd/api/services/tasks/v1"
	"github.com/containerd/containerd/v2/core/content"
	"github.com/containerd/containerd/v2/core/snapshots"
	"github.com/containerd/containerd/v2/pkg/namespaces"
	"github.com/containerd/errdefs"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"google.golang.org/grpc"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"berth.dev/pkg/grpcclient"
	"berth.dev/test/e2e/harness"
)

// settle is how long a check waits for the node to reach a state it
// should reach by itself (a restarted daemon cleaning up, an outbox
// draining) before calling what it sees a violation.
const settle = 10 * time.Second

// check verifies every invariant with the load stopped.
func (r *run) check() {
	r.stats.mu.Lock()
	r.stats.checks++
	r.stats.mu.Unlock()
	if !r.checkHealth() {
		return
	}
	r.checkBlobs()
	r.eventually("snapshot-records-dirs", r.snapshotMismatch)
	r.eventually("leak", r.leaks)
	r.eventually("lease-leak", r.leakedLeases)
	for _, v := range r.events.check(settle) {
		kind := "event-" + strings.SplitN(v, ":", 2)[0]
		if strings.HasPrefix(v, "published") || strings.HasPrefix(v, "envelope") {
			kind = "event-twice"
		}
		r.stats.violate(strings.ReplaceAll(kind, " ", "-"), r.phase(), "%s", v)
	}
	r.checkRunners()
}

// eventually calls probe until it finds nothing wrong or settle passes, and
// records what it found last.
func (r *run) eventually(kind string, probe func() []string) {
	deadline := time.Now().Add(settle)
	for {
		found := probe()
		if len(found) == 0 {
			return
		}
		// Waiting for a state already reported to change is no use: it
		// has lasted since an earlier check.
		if time.Now().After(deadline) || r.stats.allReported(kind, found) {
			for _, f := range found {
				// A probe may name a finer kind: "kind|detail".
				k := kind
				if fine, detail, ok := strings.Cut(f, "|"); ok {
					k, f = fine, detail
				}
				r.stats.violate(k, r.phase(), "%s", f)
			}
			return
		}
		time.Sleep(500 * time.Millisecond)
	}
}

func (r *run) ctx(ns string, d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(namespaces.WithNamespace(context.Background(), ns), d)
}

// checkHealth asks every daemon's health service and the node socket.
func (r *run) checkHealth() bool {
	ok := true
	for _, name := range harness.Daemons {
		if err := health(r.st.SocketOf(name)); err != nil {
			r.stats.violate("daemon-unhealthy", r.phase(), "%s: %v", name, err)
			ok = false
		}
	}
	ctx, cancel := r.ctx("default", 10*time.Second)
	defer cancel()
	if _, err := r.client.NamespaceService().List(ctx); err != nil {
		r.stats.violate("daemon-unhealthy", r.phase(), "namespaces list: %v", err)
		ok = false
	}
	return ok
}

func health(socket string) error {
	cc, err := grpcclient.Dial(socket)
	if err != nil {
		return err
	}
	defer cc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := healthpb.NewHealthClient(cc).Check(ctx, &healthpb.HealthCheckRequest{}, grpc.WaitForReady(true))
	if err != nil {
		return err
	}
	if resp.Status != healthpb.HealthCheckResponse_SERVING {
		return fmt.Errorf("status %s", resp.Status)
	}
	return nil
}

// checkBlobs reads every blob back, on disk and through the API, and
// checks it against its digest.
func (r *run) checkBlobs() {
	dir := filepath.Join(contentDir(r.st), "blobs", "sha256")
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		f, err := os.Open(filepath.Join(dir, e.Name()))
		if os.IsNotExist(err) {
			continue // collected meanwhile
		}
		if err != nil {
			r.stats.violate("blob-corrupt", r.phase(), "%s: %v", e.Name(), err)
			continue
		}
		h := sha256.New()
		_, err = io.Copy(h, f)
		f.Close()
		if got := fmt.Sprintf("%x", h.Sum(nil)); err != nil || got != e.Name() {
			r.stats.violate("blob-corrupt", r.phase(), "blob file %s hashes to %s (%v)", e.Name(), got, err)
		}
	}
	for _, ns := range r.namespaces {
		r.eventually("daemon-unhealthy", func() []string { return r.readBlobs(ns) })
	}
}

// readBlobs reads every blob of ns through the node socket and checks it.
// A failure to list is returned (a daemon just restarted may take a moment
// to be reached again); a blob that reads wrong is a violation at once.
func (r *run) readBlobs(ns string) []string {
	ctx, cancel := r.ctx(ns, time.Minute)
	defer cancel()
	cs := r.client.ContentStore()
	err := cs.Walk(ctx, func(info content.Info) error {
		b, err := content.ReadBlob(ctx, cs, ocispec.Descriptor{Digest: info.Digest, Size: info.Size})
		if errdefs.IsNotFound(err) {
			return nil // collected meanwhile
		}
		if err != nil {
			return fmt.Errorf("read %s: %w", info.Digest, err)
		}
		if got := digest.FromBytes(b); got != info.Digest {
			r.stats.violate("blob-corrupt", r.phase(), "%s %s reads back as %s", ns, info.Digest, got)
		}
		return nil
	})
	if err != nil {
		return []string{fmt.Sprintf("content of %s: %v", ns, err)}
	}
	return nil
}

// snapshotMismatch compares snapshotd's records (through the API) with its
// directories: as many directories as records, and every directory a
// mount names exists.
func (r *run) snapshotMismatch() []string {
	dir := filepath.Join(r.st.Root, "snapshotd", "snapshots", "overlayfs")
	entries, _ := os.ReadDir(dir)
	dirs := map[string]bool{}
	for _, e := range entries {
		dirs[e.Name()] = true
	}
	records := 0
	var out []string
	for _, ns := range r.allNamespaces() {
		ctx, cancel := r.ctx(ns, 30*time.Second)
		sn := r.client.SnapshotService("overlayfs")
		err := sn.Walk(ctx, func(ctx context.Context, info snapshots.Info) error {
			records++
			if info.Kind != snapshots.KindActive && info.Kind != snapshots.KindView {
				return nil
			}
			mounts, err := sn.Mounts(ctx, info.Name)
			if err != nil {
				out = append(out, fmt.Sprintf("mounts of %s/%s: %v", ns, info.Name, err))
				return nil
			}
			for _, m := range mounts {
				for _, id := range snapshotIDs(dir, m.Source, m.Options) {
					if !dirs[id] {
						out = append(out, fmt.Sprintf("%s/%s mounts directory %s, which does not exist", ns, info.Name, id))
					}
				}
			}
			return nil
		})
		cancel()
		if err != nil {
			out = append(out, fmt.Sprintf("snapshots in %s: %v", ns, err))
		}
	}
	if records != len(dirs) {
		out = append(out, fmt.Sprintf("%d snapshot records but %d directories", records, len(dirs)))
	}
	return out
}

// snapshotIDs returns the snapshot directories a mount names.
func snapshotIDs(dir, source string, options []string) []string {
	var paths []string
	paths = append(paths, source)
	for _, o := range options {
		if k, v, ok := strings.Cut(o, "="); ok && (k == "lowerdir" || k == "upperdir" || k == "workdir") {
			paths = append(paths, strings.Split(v, ":")...)
		}
	}
	var ids []string
	for _, p := range paths {
		if rest, ok := strings.CutPrefix(p, dir+"/"); ok {
			ids = append(ids, strings.SplitN(rest, "/", 2)[0])
		}
	}
	return ids
}

func (r *run) allNamespaces() []string {
	ctx, cancel := r.ctx("default", 10*time.Second)
	defer cancel()
	nss, err := r.client.NamespaceService().List(ctx)
	if err != nil {
		return r.namespaces
	}
	sort.Strings(nss)
	return nss
}

// tasks lists every task the node reports, as ns/id.
func (r *run) tasks() (map[string]bool, error) {
	out := map[string]bool{}
	for _, ns := range r.allNamespaces() {
		ctx, cancel := r.ctx(ns, 10*time.Second)
		resp, err := r.client.TaskService().List(ctx, &tasksapi.ListTasksRequest{})
		cancel()
		if err != nil {
			return nil, err
		}
		for _, t := range resp.Tasks {
			out[ns+"/"+t.ID] = true
		}
	}
	return out, nil
}

//go:build chaos

package chaos

import (
	"archive/tar"
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	apievents "github.com/containerd/containerd/api/events"
	"github.com/containerd/containerd/api/types"
	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/containers"
	"github.com/containerd/containerd/v2/core/leases"
	"github.com/containerd/containerd/v2/pkg/cio"
	"github.com/containerd/containerd/v2/pkg/namespaces"
	"github.com/containerd/containerd/v2/pkg/oci"
	"github.com/containerd/errdefs"
	"github.com/containerd/typeurl/v2"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"berth.dev/pkg/namespace"
	"berth.dev/pkg/snapshotdclient"
	"berth.dev/test/e2e/harness"
)

// The tests below each show one defect the chaos run found, in isolation
// and in seconds. While the defect is listed in known they skip; with
// -run-known (or once the entry is removed) they run and fail until it is
// fixed.
var runKnown = flag.Bool("run-known", false, "run the regression tests of known defects instead of skipping them")

func skipKnown(t *testing.T, kind string) {
	t.Helper()
	if why, ok := known[kind]; ok && !*runKnown {
		t.Skip("known: " + why)
	}
}

// TestGCKeepsSnapshotsPreparedDuringCollection prepares snapshots under a
// lease while collections run: none may disappear.
func TestGCKeepsSnapshotsPreparedDuringCollection(t *testing.T) {
	skipKnown(t, "gc-removed-leased")
	_, client, _, ctx := small(t)
	lctx, held := collectingLease(t, ctx, client)
	sn := client.SnapshotService("overlayfs")
	for i := 0; i < 150; i++ {
		key := fmt.Sprintf("held-%d", i)
		if _, err := sn.Prepare(lctx, key, ""); err != nil {
			t.Fatalf("prepare %s: %v", key, err)
		}
		survives(t, "snapshot "+key+", prepared", held, i, func() error { _, err := sn.Stat(ctx, key); return err })
		// Committed under the lease, as an unpack does: the committed
		// snapshot keeps its active one's creation time, but is held
		// under its own name.
		name := fmt.Sprintf("committed-%d", i)
		if err := sn.Commit(lctx, name, key); err != nil {
			t.Fatalf("commit %s: %v", key, err)
		}
		survives(t, "snapshot "+name+", committed", held, i, func() error { _, err := sn.Stat(ctx, name); return err })
	}
}

// TestShimExitsAfterFailedCreate creates a task whose runc create fails:
// taskd must not leave its shim behind.
func TestShimExitsAfterFailedCreate(t *testing.T) {
	skipKnown(t, "leak-shim")
	st, client, img, ctx := small(t)
	ctr, err := client.NewContainer(ctx, "nocmd", containerd.WithNewSnapshot("nocmd-snap", img),
		containerd.WithNewSpec(oci.WithImageConfig(img), oci.WithProcessArgs("/no/such/binary")))
	if err != nil {
		t.Fatal(err)
	}
	defer ctr.Delete(ctx, containerd.WithSnapshotCleanup)
	if _, err := ctr.NewTask(ctx, cio.NullIO); err == nil {
		t.Fatal("a task whose command does not exist was created")
	}
	var shims []shimProc
	if !settles(10*time.Second, 100*time.Millisecond, func() bool { shims = shimProcs(filepath.Dir(st.Root)); return len(shims) == 0 }) {
		t.Fatalf("shims still running 10s after the failed create: %+v", shims)
	}
}

// TestExitRecordedWhenShimDies kills a running task's shim: the task's
// exit must be published once, the task must read as stopped with that
// exit's status, and its container must not outlive the shim.
func TestExitRecordedWhenShimDies(t *testing.T) {
	skipKnown(t, "exit-not-recorded")
	st, client, img, ctx := small(t)
	evs, errs := client.Subscribe(ctx, `topic=="/tasks/exit"`, `topic=="/tasks/delete"`)
	ctr, err := client.NewContainer(ctx, "orphan", containerd.WithNewSnapshot("orphan-snap", img),
		containerd.WithNewSpec(oci.WithImageConfig(img), oci.WithProcessArgs("sleep", "1000")))
	if err != nil {
		t.Fatal(err)
	}
	defer ctr.Delete(ctx, containerd.WithSnapshotCleanup)
	task, err := ctr.NewTask(ctx, cio.NullIO)
	if err != nil {
		t.Fatal(err)
	}
	defer task.Delete(ctx, containerd.WithProcessKill)
	if err := task.Start(ctx); err != nil {
		t.Fatal(err)
	}
	shims := shimProcs(filepath.Dir(st.Root))
	if len(shims) != 1 {
		t.Fatalf("want one shim, found %+v", shims)
	}
	syscall.Kill(shims[0].pid, syscall.SIGKILL)
	var exit apievents.TaskExit
	select {
	case e := <-evs:
		if err := typeurl.UnmarshalTo(e.Event, &exit); err != nil || exit.ContainerID != "orphan" {
			t.Fatalf("not the exit of orphan: %v (%v)", e, err)
		}
	case err := <-errs:
		t.Fatal(err)
	case <-time.After(20 * time.Second):
		s, err := task.Status(ctx)
		t.Fatalf("no /tasks/exit 20s after the shim died; the task reads %+v (%v)", s, err)
	}
	s, err := task.Status(ctx)
	if err != nil || s.Status != containerd.Stopped || s.ExitStatus != exit.ExitStatus {
		t.Fatalf("the task reads %+v (%v); its exit event says status %d", s, err, exit.ExitStatus)
	}
	if exit.Pid != task.Pid() {
		t.Fatalf("exit of pid %d, the task's is %d", exit.Pid, task.Pid())
	}
	if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", task.Pid())); err == nil && !strings.Contains(string(b), ") Z ") {
		t.Fatalf("the container's process %d outlived its shim: %s", task.Pid(), b)
	}
	// As ctr and the chaos load delete it: Wait, Kill (the process is
	// finished: NotFound), Delete.
	if _, err := task.Delete(ctx, containerd.WithProcessKill); err != nil {
		t.Fatal(err)
	}
	// Events come in order: any second exit would be before the delete.
	for {
		select {
		case e := <-evs:
			if e.Topic == "/tasks/delete" {
				return
			}
			t.Fatalf("a second exit event: %v", e)
		case err := <-errs:
			t.Fatal(err)
		case <-time.After(20 * time.Second):
			t.Fatal("no /tasks/delete 20s after the task was deleted")
		}
	}
}

// TestFullContentStoreIsResourceExhausted pulls onto a full content
// filesystem: the error must be ResourceExhausted.
func TestFullContentStoreIsResourceExhausted(t *testing.T) {
	skipKnown(t, "full-disk-error")
	reg := harness.Registry(t)
	ref := reg + "/regress/busybox:1"
	harness.Push(t, ref, harness.BusyboxImage(t))
	var mountErr error
	st := harness.Start(t, harness.WithEnv("BERTH_REGISTRY_CONFIG_PATH="+hostsDir(t, reg)), func(s *harness.Stack) { mountErr = mountContentFS(s) })
	if mountErr != nil {
		t.Fatal(mountErr)
	}
	filler := filepath.Join(contentDir(st), "filler")
	if err := fill(filler); err != nil {
		t.Fatal(err)
	}
	defer os.Remove(filler)
	cc := berthConn(t, st)
	ctx, cancel := context.WithTimeout(namespaces.WithNamespace(context.Background(), "default"), time.Minute)
	defer cancel()
	err := (&run{berth: cc}).serverPull(ctx, "default", ref)
	if !errdefs.IsResourceExhausted(err) {
		t.Fatalf("pull onto a full content store: %v (want ResourceExhausted)", err)
	}
	// A client-side pull writes through the content service: the same.
	client := newClient(t, st)
	blob := bytes.Repeat([]byte("full"), 64<<10)
	if _, err := writeBlob(ctx, client.ContentStore(), "onto-full", blob); !errdefs.IsResourceExhausted(err) {
		t.Fatalf("content write onto a full content store: %v (want ResourceExhausted)", err)
	}
	if _, err := client.ContentStore().Info(ctx, digest.FromBytes(blob)); !errdefs.IsNotFound(err) {
		t.Fatalf("a blob whose write ran out of space is listed: %v", err)
	}
	layers, _ := harness.BusyboxImage(t).Layers()
	for _, l := range layers {
		d, _ := l.Digest()
		if _, err := client.ContentStore().Info(ctx, digest.Digest(d.String())); !errdefs.IsNotFound(err) {
			t.Fatalf("layer %s is listed after a pull that ran out of space (%v)", d, err)
		}
	}
	os.Remove(filler)
	if err := (&run{berth: cc}).serverPull(ctx, "default", ref); err != nil {
		t.Fatalf("pull once space was freed: %v", err)
	}
	if _, err := writeBlob(ctx, client.ContentStore(), "onto-full", blob); err != nil {
		t.Fatalf("content write once space was freed: %v", err)
	}
}

// TestPullGivesUpOnStalledRegistry pulls from a registry that stops
// sending mid-blob: the pull must end by itself with an error.
func TestPullGivesUpOnStalledRegistry(t *testing.T) {
	skipKnown(t, "pull-no-progress-deadline")
	r := proxied(t, "BERTH_IMAGED_PULL_PROGRESS_TIMEOUT="+progressTimeout.String())
	ref, layer := r.pushFresh(4 << 20)
	r.proxy.arm(layer, faultStall)
	timedOut, err := r.pullWithin("default", ref, stallLimit)
	if timedOut {
		t.Fatalf("the pull was still running %s after the registry stalled (%v)", stallLimit, err)
	}
	if err == nil {
		t.Fatal("the pull succeeded although the registry never sent the rest of a blob")
	}
	if !errdefs.IsUnavailable(err) || !strings.Contains(err.Error(), layer) || !strings.Contains(err.Error(), r.proxy.addr) {
		t.Fatalf("the stalled pull failed with %v: want Unavailable naming blob %s and registry %s", err, layer, r.proxy.addr)
	}
	// The fault plays once: a retry resumes what the stalled pull stored.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := r.serverPull(ctx, "default", ref); err != nil {
		t.Fatalf("pull after the stall: %v", err)
	}
	if _, resumed := r.proxy.played(layer); !resumed {
		t.Fatalf("the pull after the stall downloaded layer %s from the start", layer)
	}
}

// TestTaskdKilledMidCreateLeavesNothing kills taskd while runc create runs
// (slowed by a createRuntime hook): once taskd is back, every shim, runc
// state dir and task dir belongs to a task it lists.
func TestTaskdKilledMidCreateLeavesNothing(t *testing.T) {
	skipKnown(t, "leak-after-taskd-kill")
	st, client, img, ctx := small(t)
	slow := func(_ context.Context, _ oci.Client, _ *containers.Container, s *specs.Spec) error {
		s.Hooks = &specs.Hooks{CreateRuntime: []specs.Hook{{Path: "/bin/sleep", Args: []string{"sleep", "3"}}}}
		return nil
	}
	ctr, err := client.NewContainer(ctx, "slow", containerd.WithNewSnapshot("slow-snap", img),
		containerd.WithNewSpec(oci.WithImageConfig(img), oci.WithProcessArgs("sleep", "1000"), slow))
	if err != nil {
		t.Fatal(err)
	}
	created := make(chan error, 1)
	go func() {
		_, err := ctr.NewTask(ctx, cio.NullIO)
		created <- err
	}()
	hooked := func() bool {
		return len(procsWith(func(args []string) bool { return filepath.Base(args[0]) == "sleep" && len(args) == 2 && args[1] == "3" })) > 0
	}
	if !settles(20*time.Second, 10*time.Millisecond, hooked) {
		t.Fatalf("the createRuntime hook never ran (runc root %s)", filepath.Join(st.State, "runc"))
	}
	st.Kill(t, "taskd")
	<-created
	st.StartDaemon(t, "taskd")
	r := &run{t: t, st: st, client: client, namespaces: []string{}}
	var leaks []string
	if !settles(15*time.Second, 200*time.Millisecond, func() bool { leaks = r.leaks(); return len(leaks) == 0 }) {
		t.Fatalf("after taskd was killed mid-create and restarted: %v", leaks)
	}
}

// TestImagedKilledMidPullLeavesNoLease kills imaged while a pull waits on a
// stalled registry: once imaged is back, no pull lease of the dead process
// may hold what it downloaded.
func TestImagedKilledMidPullLeavesNoLease(t *testing.T) {
	skipKnown(t, "lease-leak")
	r := proxied(t, "BERTH_IMAGED_ORPHAN_LEASE_GRACE="+orphanGrace.String())
	ref, layer := r.pushFresh(4 << 20)
	r.proxy.arm(layer, faultStall)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	pulled := make(chan error, 1)
	go func() { pulled <- r.serverPull(ctx, "default", ref) }()
	for hit, _ := r.proxy.played(layer); !hit; hit, _ = r.proxy.played(layer) {
		if ctx.Err() != nil {
			t.Fatal("the pull never reached the layer")
		}
		time.Sleep(20 * time.Millisecond)
	}
	r.st.Kill(t, "imaged")
	<-pulled
	r.st.StartDaemon(t, "imaged")
	nctx := namespaces.WithNamespace(ctx, "default")
	var ls []leases.Lease
	var err error
	if !settles(15*time.Second, 200*time.Millisecond, func() bool { ls, err = r.client.LeasesService().List(nctx); return err == nil && len(ls) == 0 }) {
		t.Fatalf("leases left by the pull imaged was running when killed: %v (%v)", ls, err)
	}
}

// TestGCKeepsContentWrittenDuringCollection writes blobs under a lease
// while collections run: none may disappear (content does not share the
// snapshots' race; this keeps it so).
func TestGCKeepsContentWrittenDuringCollection(t *testing.T) {
	_, client, _, ctx := small(t)
	lctx, held := collectingLease(t, ctx, client)
	cs := client.ContentStore()
	for i := 0; i < 150; i++ {
		d, err := writeBlob(lctx, cs, fmt.Sprintf("held-%d", i), []byte(fmt.Sprintf("blob %d of %s", i, held)))
		if err != nil {
			t.Fatalf("write blob %d: %v", i, err)
		}
		survives(t, "blob "+d.String()+", written", held, i, func() error { _, err := cs.Info(ctx, d); return err })
	}
}

// TestRetriedSyncLeaseDeleteCollects leaves a lease deleted but not
// collected, as imaged killed between the two halves of a synchronous
// delete does (the chaos run saw it right after imaged restarted). A client
// that lost the answer and asks again gets NotFound, which must not come
// before what the lease held is collected.
func TestRetriedSyncLeaseDeleteCollects(t *testing.T) {
	skipKnown(t, "gc-kept-unreferenced")
	_, client, _, ctx := small(t)
	ls := client.LeasesService()
	cs := client.ContentStore()
	l, err := ls.Create(ctx, leases.WithRandomID(), leases.WithExpiration(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	d, err := writeBlob(leases.WithLease(ctx, l.ID), cs, "retried", []byte("held by "+l.ID))
	if err != nil {
		t.Fatal(err)
	}
	// A plain delete leaves the collection for later: the state a
	// synchronous delete cut short leaves.
	if err := ls.Delete(ctx, l); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.Info(ctx, d); err != nil {
		t.Fatalf("blob %s gone before any collection: %v", d, err)
	}
	if err := ls.Delete(ctx, l, leases.SynchronousDelete); !errdefs.IsNotFound(err) {
		t.Fatalf("second delete of lease %s: %v, want NotFound", l.ID, err)
	}
	if _, err := cs.Info(ctx, d); !errdefs.IsNotFound(err) {
		t.Fatalf("blob %s of lease %s is still there after a synchronous delete answered NotFound (%v)", d, l.ID, err)
	}
}

// TestRemoveRefusedWhileApplying removes a snapshot while a layer is
// being applied into it: the removal must be refused, since the apply
// would recreate what it deleted and leave a directory without a record.
func TestRemoveRefusedWhileApplying(t *testing.T) {
	skipKnown(t, "snapshot-records-dirs")
	st, client, _, ctx := small(t)
	sn := client.SnapshotService("overlayfs")
	mounts, err := sn.Prepare(ctx, "applying", "")
	if err != nil {
		t.Fatal(err)
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pw.Close()
	sd, err := snapshotdclient.Dial(st.SocketOf("snapshotd"))
	if err != nil {
		t.Fatal(err)
	}
	defer sd.Close()
	applied := make(chan error, 1)
	go func() {
		desc := &types.Descriptor{Digest: digest.FromString("slow layer").String()}
		var ms []*types.Mount
		for _, m := range mounts {
			ms = append(ms, &types.Mount{Type: m.Type, Source: m.Source, Options: m.Options})
		}
		ns, _ := namespaces.Namespace(ctx)
		_, _, err := sd.ApplyStream(namespace.WithNamespace(ctx, ns), desc, ms, pr, snapshotdclient.SyncLater, true)
		applied <- err
	}()
	// Half a layer: a directory and the start of a file in it.
	tw := tar.NewWriter(pw)
	tw.WriteHeader(&tar.Header{Name: "dir/", Typeflag: tar.TypeDir, Mode: 0o755})
	tw.WriteHeader(&tar.Header{Name: "dir/file", Typeflag: tar.TypeReg, Mode: 0o644, Size: 2 << 20})
	tw.Write(make([]byte, 64<<10))
	written := filepath.Join(mounts[0].Source, "dir", "file")
	deadline := time.Now().Add(20 * time.Second)
	for _, err := os.Stat(written); err != nil; _, err = os.Stat(written) {
		select {
		case err := <-applied:
			t.Fatalf("the apply ended before the layer did: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("the apply never wrote %s", written)
		}
		time.Sleep(10 * time.Millisecond)
	}
	removeErr := sn.Remove(ctx, "applying")
	// The rest of the layer: the file's end and a directory of its own.
	tw.Write(make([]byte, 2<<20-64<<10))
	tw.WriteHeader(&tar.Header{Name: "later/", Typeflag: tar.TypeDir, Mode: 0o755})
	tw.Close()
	pw.Close()
	if err := <-applied; err != nil && removeErr != nil {
		t.Fatalf("the apply into a snapshot whose removal was refused failed: %v", err)
	}
	if !errdefs.IsFailedPrecondition(removeErr) {
		_, statErr := os.Stat(filepath.Dir(filepath.Dir(written)))
		t.Fatalf("removal while a layer was applied: %v, want FailedPrecondition (its directory afterwards: %v)", removeErr, statErr)
	}
	if err := sn.Remove(ctx, "applying"); err != nil {
		t.Fatalf("removal once the apply ended: %v", err)
	}
	if _, err := os.Stat(filepath.Dir(mounts[0].Source)); !os.IsNotExist(err) {
		t.Fatalf("the snapshot's directory outlived its removal: %v", err)
	}
}

// TestPullHoldsBlobsItFindsPresent interrupts a pull after it stored the
// image's config, then pulls again with the layer stalled and runs a
// collection meanwhile: the config, which the second pull found present,
// must be held by that pull's lease and survive.
func TestPullHoldsBlobsItFindsPresent(t *testing.T) {
	skipKnown(t, "pull-retry-failed")
	r := proxied(t)
	proxy, client := r.proxy, r.client
	img, err := random.Image(4<<20, 1)
	if err != nil {
		t.Fatal(err)
	}
	harness.Push(t, r.reg+"/regress/held:1", img)
	ref := proxy.addr + "/regress/held:1"
	layers, _ := img.Layers()
	layer, _ := layers[0].Digest()
	config, _ := img.ConfigName()

	proxy.arm(layer.String(), faultReset)
	ctx, cancel := context.WithTimeout(namespaces.WithNamespace(context.Background(), "default"), time.Minute)
	defer cancel()
	if err := r.serverPull(ctx, "default", ref); err == nil {
		t.Fatal("the first pull succeeded although its layer was cut")
	}
	if _, err := client.ContentStore().Info(ctx, digest.Digest(config.String())); err != nil {
		t.Fatalf("the first pull did not store the config: %v", err)
	}
	proxy.arm(layer.String(), faultStall)
	pulled := make(chan error, 1)
	go func() { pulled <- r.serverPull(ctx, "default", ref) }()
	for hit, _ := proxy.played(layer.String()); !hit; hit, _ = proxy.played(layer.String()) {
		time.Sleep(20 * time.Millisecond)
	}
	// A synchronous lease delete runs a collection now.
	l, err := client.LeasesService().Create(ctx, leases.WithRandomID())
	if err != nil {
		t.Fatal(err)
	}
	if err := client.LeasesService().Delete(ctx, l, leases.SynchronousDelete); err != nil {
		t.Fatal(err)
	}
	_, infoErr := client.ContentStore().Info(ctx, digest.Digest(config.String()))
	cancel()
	<-pulled
	if infoErr != nil {
		t.Fatalf("the config %s, which the running pull found present, was collected: %v", config, infoErr)
	}
}

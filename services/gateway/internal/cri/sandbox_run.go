package cri

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	containersapi "github.com/containerd/containerd/api/services/containers/v1"
	tasksapi "github.com/containerd/containerd/api/services/tasks/v1"
	"github.com/containerd/containerd/api/types"
	"github.com/containerd/containerd/api/types/runc/options"
	"github.com/containerd/errdefs"
	gocni "github.com/containerd/go-cni"
	"github.com/containerd/typeurl/v2"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"go.uber.org/zap"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"berth.dev/pkg/log"
	"berth.dev/services/gateway/internal/cri/cni"
	"berth.dev/services/gateway/internal/cri/netns"
	"berth.dev/services/gateway/internal/cri/spec"
	"berth.dev/services/gateway/internal/cri/store"
)

// specTypeURL is the type containerd records runtime specs under.
const specTypeURL = "types.containerd.io/opencontainers/runtime-spec/1/Spec"

// runtimeName is taskd's runc runtime.
const runcRuntime = "io.containerd.runc.v2"

func specAny(s *specs.Spec) (*anypb.Any, error) {
	b, err := json.Marshal(s)
	if err != nil {
		return nil, err
	}
	return &anypb.Any{TypeUrl: specTypeURL, Value: b}, nil
}

// RunPodSandbox creates the pod's network namespace, attaches it to CNI
// and starts the pause container. On failure nothing is left: no netns,
// no address, no pause container, no record.
func (s *RuntimeService) RunPodSandbox(ctx context.Context, req *runtimeapi.RunPodSandboxRequest) (_ *runtimeapi.RunPodSandboxResponse, err error) {
	cfg := req.GetConfig()
	md := cfg.GetMetadata()
	if md == nil || md.GetName() == "" || md.GetNamespace() == "" || md.GetUid() == "" {
		return nil, fmt.Errorf("sandbox config needs metadata with name, namespace and uid: %w", errdefs.ErrInvalidArgument)
	}
	if h := req.GetRuntimeHandler(); !KnownHandler(h) {
		return nil, fmt.Errorf("runtime handler %q: %w", h, errdefs.ErrNotFound)
	}
	cfgBytes, err := proto.Marshal(cfg)
	if err != nil {
		return nil, err
	}
	smd := store.Metadata{Name: md.GetName(), UID: md.GetUid(), Namespace: md.GetNamespace(), Attempt: md.GetAttempt()}
	sb := &store.Sandbox{
		ID: newID(), Name: store.SandboxName(smd), Metadata: smd, Labels: cfg.GetLabels(), Annotations: cfg.GetAnnotations(),
		Config: cfgBytes, RuntimeHandler: req.GetRuntimeHandler(), State: store.SandboxNotReady, CreatedAt: time.Now(),
		CgroupParent: cfg.GetLinux().GetCgroupParent(),
	}
	sb.Dir = s.sandboxDir(sb.ID)
	hostNet := cfg.GetLinux().GetSecurityContext().GetNamespaceOptions().GetNetwork() == runtimeapi.NamespaceMode_NODE
	if !hostNet {
		// Known before it exists: a gateway dying half way leaves a record
		// that StopPodSandbox can still release the namespace and address
		// of.
		sb.NetNS = filepath.Join(s.NetNSDir, sb.ID)
	}
	// The name is reserved first, so a concurrent duplicate fails at once.
	if err := s.Store.AddSandbox(ctx, sb); err != nil {
		return nil, err
	}
	logger := log.G(ctx).With(zap.String("id", sb.ID), zap.String("pod", md.GetNamespace()+"/"+md.GetName()))
	var undo []func()
	defer func() {
		if err == nil {
			return
		}
		for i := len(undo) - 1; i >= 0; i-- {
			undo[i]()
		}
		s.Store.DeleteSandbox(context.WithoutCancel(ctx), sb.ID)
		logger.Info("pod sandbox not started, cleaned up", zap.Error(err))
	}()
	dctx := daemonCtx(context.WithoutCancel(ctx))

	img, err := s.sandboxImage(ctx)
	if err != nil {
		return nil, fmt.Errorf("sandbox image: %w", err)
	}
	sb.Image = img.Name
	undo = append(undo, func() { removeSandboxFiles(sb.Dir) })
	if err := writeSandboxFiles(sb.Dir, cfg); err != nil {
		return nil, err
	}
	// The pod's network is set up while its pause container starts: the
	// pause process only needs the namespace to exist, not its
	// interfaces, and the two take about as long.
	attached := func() error { return nil }
	if !hostNet {
		if err := netns.Create(sb.NetNS); err != nil {
			return nil, err
		}
		undo = append(undo, func() { netns.Remove(sb.NetNS) })
		pod := s.cniPod(sb, cfg)
		var res *cni.Result
		var attachErr error
		done := make(chan struct{})
		go func() {
			defer close(done)
			res, attachErr = s.Network.Attach(ctx, pod)
		}()
		attached = func() error {
			<-done
			if attachErr != nil {
				return attachErr
			}
			sb.IP, sb.AdditionalIPs, sb.CNIResult = res.IP, res.AdditionalIPs, res.Raw
			return nil
		}
		undo = append(undo, func() {
			<-done
			if derr := s.Network.Detach(dctx, pod); derr != nil {
				logger.Warn("cni del after a failed sandbox", zap.Error(derr))
			}
		})
	}
	shm := ""
	if cfg.GetLinux().GetSecurityContext().GetNamespaceOptions().GetIpc() != runtimeapi.NamespaceMode_NODE {
		shm = shmDir(sb.Dir)
	}
	sp, err := spec.ForSandbox(spec.Sandbox{ID: sb.ID, Config: cfg, Image: img.Config, NetNS: sb.NetNS,
		CgroupsPath: spec.CgroupsPath(sb.CgroupParent, sb.ID, s.SystemdCgroup), ShmDir: shm})
	if err != nil {
		return nil, err
	}
	if sb.Pid, err = s.startPause(dctx, sb, img, sp, &undo); err != nil {
		return nil, err
	}
	if err := attached(); err != nil {
		return nil, err
	}
	sb.State = store.SandboxReady
	if _, err := s.Store.UpdateSandbox(dctx, sb.ID, func(rec *store.Sandbox) error { *rec = *sb; return nil }); err != nil {
		return nil, err
	}
	s.emitSandbox(ctx, sb.ID, runtimeapi.ContainerEventType_CONTAINER_CREATED_EVENT, nil)
	s.emitSandbox(ctx, sb.ID, runtimeapi.ContainerEventType_CONTAINER_STARTED_EVENT, nil)
	return &runtimeapi.RunPodSandboxResponse{PodSandboxId: sb.ID}, nil
}

// startPause creates the pause container in taskd on a fresh snapshot and
// starts it.
func (s *RuntimeService) startPause(ctx context.Context, sb *store.Sandbox, img *Image, sp *specs.Spec, undo *[]func()) (uint32, error) {
	a, err := specAny(sp)
	if err != nil {
		return 0, err
	}
	// The pause container's record does not need its rootfs yet (its
	// spec names no image files): both are made at once.
	var mounts []*types.Mount
	prepared, created := false, false
	err = parallel(func() (err error) {
		mounts, err = s.Snapshots.Prepare(ctx, s.Snapshotter, sb.ID, img.ChainID)
		if err != nil {
			return fmt.Errorf("prepare sandbox rootfs: %w", err)
		}
		prepared = true
		return nil
	}, func() error {
		err := s.Tasks.CreateContainer(ctx, &containersapi.Container{
			ID: sb.ID, Image: img.Name, Spec: a, Snapshotter: s.Snapshotter, SnapshotKey: sb.ID,
			Runtime: s.runtime(sb.RuntimeHandler),
			Labels:  map[string]string{labelKind: kindSandbox, "io.kubernetes.pod.name": sb.Metadata.Name, "io.kubernetes.pod.namespace": sb.Metadata.Namespace, "io.kubernetes.pod.uid": sb.Metadata.UID},
		})
		if err != nil {
			return fmt.Errorf("create pause container: %w", err)
		}
		created = true
		return nil
	})
	if prepared {
		*undo = append(*undo, func() { s.Snapshots.Remove(ctx, s.Snapshotter, sb.ID) })
	}
	if created {
		*undo = append(*undo, func() { s.Tasks.DeleteContainer(ctx, sb.ID) })
	}
	if err != nil {
		return 0, err
	}
	if _, err := s.Tasks.CreateTask(ctx, &tasksapi.CreateTaskRequest{ContainerID: sb.ID, Rootfs: mounts}); err != nil {
		return 0, fmt.Errorf("create pause task: %w", err)
	}
	*undo = append(*undo, func() {
		// A started task is deleted only once it has exited.
		s.stopTask(ctx, sb.ID, syscall.SIGKILL, 0)
		s.deleteTask(ctx, sb.ID)
	})
	pid, err := s.Tasks.StartTask(ctx, sb.ID)
	if err != nil {
		return 0, fmt.Errorf("start pause task: %w", err)
	}
	return pid, nil
}

// runtime is the taskd runtime of a container of a pod run with handler:
// runc's options (as containerd's runc shim takes them), naming the binary
// for "runc" and "crun" (taskd's default otherwise) and telling it to use
// systemd's cgroup driver when pods use it.
func (s *RuntimeService) runtime(handler string) *containersapi.Container_Runtime {
	handler = s.handler(handler)
	r := &containersapi.Container_Runtime{Name: runcRuntime}
	if s.SystemdCgroup || handler != "" {
		r.Options, _ = typeurl.MarshalAnyToProto(&options.Options{SystemdCgroup: s.SystemdCgroup, BinaryName: handler})
	}
	return r
}

// Labels on taskd containers saying what a CRI object is.
const (
	labelKind     = "io.cri-containerd.kind"
	kindSandbox   = "sandbox"
	kindContainer = "container"
)

func (s *RuntimeService) cniPod(sb *store.Sandbox, cfg *runtimeapi.PodSandboxConfig) cni.Pod {
	p := cni.Pod{ID: sb.ID, Name: sb.Metadata.Name, Namespace: sb.Metadata.Namespace, UID: sb.Metadata.UID,
		NetNS: sb.NetNS, Annotations: cfg.GetAnnotations(), CgroupParent: cfg.GetLinux().GetCgroupParent()}
	if p.Annotations == nil {
		p.Annotations = map[string]string{}
	}
	for _, pm := range cfg.GetPortMappings() {
		if pm.GetHostPort() <= 0 {
			continue
		}
		p.PortMappings = append(p.PortMappings, gocni.PortMapping{HostPort: pm.GetHostPort(), ContainerPort: pm.GetContainerPort(),
			Protocol: strings.ToLower(pm.GetProtocol().String()), HostIP: pm.GetHostIp()})
	}
	if dns := cfg.GetDnsConfig(); dns != nil {
		p.DNS = &gocni.DNS{Servers: dns.GetServers(), Searches: dns.GetSearches(), Options: dns.GetOptions()}
	}
	return p
}

// sandboxConfig decodes a record's PodSandboxConfig.
func sandboxConfig(sb *store.Sandbox) *runtimeapi.PodSandboxConfig {
	cfg := &runtimeapi.PodSandboxConfig{}
	proto.Unmarshal(sb.Config, cfg)
	return cfg
}

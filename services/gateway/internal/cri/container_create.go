package cri

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	containersapi "github.com/containerd/containerd/api/services/containers/v1"
	"github.com/containerd/containerd/api/types"
	"github.com/containerd/errdefs"
	"go.uber.org/zap"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"berth.dev/pkg/log"
	"berth.dev/services/gateway/internal/cri/spec"
	"berth.dev/services/gateway/internal/cri/store"
)

// CreateContainer prepares the container's rootfs on its image and
// records it in taskd with its spec; StartContainer creates its task.
func (s *RuntimeService) CreateContainer(ctx context.Context, req *runtimeapi.CreateContainerRequest) (_ *runtimeapi.CreateContainerResponse, err error) {
	cfg := req.GetConfig()
	if cfg.GetMetadata().GetName() == "" {
		return nil, fmt.Errorf("container config needs metadata with a name: %w", errdefs.ErrInvalidArgument)
	}
	if cfg.GetImage().GetImage() == "" {
		return nil, fmt.Errorf("container config needs an image: %w", errdefs.ErrInvalidArgument)
	}
	sb, err := s.Store.ResolveSandbox(req.GetPodSandboxId())
	if err != nil {
		return nil, err
	}
	if sb.State != store.SandboxReady || sb.Pid == 0 {
		return nil, fmt.Errorf("sandbox %s is not ready: %w", sb.ID, errdefs.ErrFailedPrecondition)
	}
	sbCfg := sandboxConfig(sb)
	logPath, err := containerLogPath(sbCfg.GetLogDirectory(), cfg.GetLogPath())
	if err != nil {
		return nil, err
	}
	img, err := s.resolveImage(ctx, cfg.GetImage().GetImage())
	if err != nil {
		return nil, err
	}
	cfgBytes, err := proto.Marshal(cfg)
	if err != nil {
		return nil, err
	}
	md := cfg.GetMetadata()
	c := &store.Container{
		ID: newID(), SandboxID: sb.ID, Metadata: store.Metadata{Name: md.GetName(), Attempt: md.GetAttempt()},
		Labels: cfg.GetLabels(), Annotations: cfg.GetAnnotations(), Config: cfgBytes,
		Image: cfg.GetImage().GetImage(), ImageID: img.ID, ImageName: img.Name, ImageRef: imageRef(img),
		StopSignal: img.Config.StopSignal, LogPath: logPath, State: store.ContainerCreated, CreatedAt: time.Now(),
	}
	c.Name = store.ContainerName(c.Metadata, sb.Metadata)
	dctx := daemonCtx(context.WithoutCancel(ctx))
	mounts, err := s.Snapshots.Prepare(dctx, s.Snapshotter, c.ID, img.ChainID)
	if err != nil {
		return nil, fmt.Errorf("prepare rootfs of %s: %w", img.Name, err)
	}
	defer func() {
		if err != nil {
			s.Snapshots.Remove(dctx, s.Snapshotter, c.ID)
			log.G(ctx).Info("container not created, cleaned up", zap.String("id", c.ID), zap.Error(err))
		}
	}()
	c.Rootfs = toStoreMounts(mounts)
	target := uint32(0)
	if t := cfg.GetLinux().GetSecurityContext().GetNamespaceOptions().GetTargetId(); t != "" {
		if tc, err := s.Store.ResolveContainer(t); err == nil {
			target = tc.Pid
		}
	}
	sp, err := spec.ForContainer(spec.Container{
		ID: c.ID, Config: cfg, Sandbox: sbCfg, SandboxID: sb.ID, SandboxPid: sb.Pid, TargetPid: target,
		Image: img.Config, ImageName: img.Name, Rootfs: rootfsDirs(mounts),
		Hostname: filepath.Join(sb.Dir, "hostname"), ResolvConf: filepath.Join(sb.Dir, "resolv.conf"), Hosts: filepath.Join(sb.Dir, "hosts"),
		ShmDir: s.podShm(sb, sbCfg), CgroupsPath: spec.CgroupsPath(sb.CgroupParent, c.ID, s.SystemdCgroup),
	})
	if err != nil {
		return nil, err
	}
	a, err := specAny(sp)
	if err != nil {
		return nil, err
	}
	c.UID, c.GID, c.Groups = sp.Process.User.UID, sp.Process.User.GID, sp.Process.User.AdditionalGids
	runtime := s.runtime(sb.RuntimeHandler)
	if err := s.Store.AddContainer(dctx, c); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			s.Store.DeleteContainer(dctx, c.ID)
		}
	}()
	err = s.Tasks.CreateContainer(dctx, &containersapi.Container{
		ID: c.ID, Image: img.Name, Spec: a, Snapshotter: s.Snapshotter, SnapshotKey: c.ID,
		Runtime: runtime,
		Labels: map[string]string{labelKind: kindContainer, "io.kubernetes.container.name": md.GetName(),
			"io.kubernetes.pod.name": sb.Metadata.Name, "io.kubernetes.pod.namespace": sb.Metadata.Namespace, "io.kubernetes.pod.uid": sb.Metadata.UID},
	})
	if err != nil {
		return nil, fmt.Errorf("create container: %w", err)
	}
	s.prepareTask(dctx, c.ID, a, runtime.Options, mounts)
	s.emit(ctx, c.ID, runtimeapi.ContainerEventType_CONTAINER_CREATED_EVENT)
	return &runtimeapi.CreateContainerResponse{ContainerId: c.ID}, nil
}

// prepareTask has taskd start the container's shim, write its bundle and
// mount its rootfs once the container is recorded, while the answer goes
// out and the kubelet comes to StartContainer, which then waits only for
// what is left of that and the runtime's create and start. It is sent
// after the records rather than alongside them: on two cores its work (a
// process start, a mount) lengthened CreateContainer by about what it
// saved StartContainer. Its failure costs nothing but that time:
// CreateTask then does the work itself. A deletion of the id waits for
// taskd's answer (prepared), so that it undoes the preparation rather than
// come before it.
func (s *RuntimeService) prepareTask(ctx context.Context, id string, spec, opts *anypb.Any, rootfs []*types.Mount) {
	done := make(chan struct{})
	s.preparing.Store(id, done)
	go func() {
		defer close(done)
		if err := s.Tasks.PrepareTask(ctx, id, spec, opts, rootfs); err != nil {
			log.G(ctx).Debug("prepare the task of a container", zap.String("id", id), zap.Error(err))
		}
	}()
}

// prepared waits until taskd answered the preparation of container id's
// task, if one was sent.
func (s *RuntimeService) prepared(id string) {
	if done, ok := s.preparing.LoadAndDelete(id); ok {
		<-done.(chan struct{})
	}
}

// resolveImage finds a local image; the kubelet pulls before creating.
func (s *RuntimeService) resolveImage(ctx context.Context, ref string) (*Image, error) {
	if s.Images == nil {
		if b := s.pauseImage.builtin; b != nil && (ref == b.Name || ref == b.ID) {
			return b, nil
		}
		return nil, fmt.Errorf("image %q: no image service: %w", ref, errdefs.ErrNotFound)
	}
	img, err := s.Images.Resolve(ctx, ref)
	if err != nil {
		return nil, fmt.Errorf("image %q: %w", ref, err)
	}
	return img, nil
}

func imageRef(img *Image) string {
	if len(img.RepoDigests) > 0 {
		return img.RepoDigests[0]
	}
	return img.ID
}

// containerLogPath joins the pod's log directory and the container's
// relative log path, refusing a path that leaves the directory.
func containerLogPath(dir, rel string) (string, error) {
	if rel == "" {
		return "", nil
	}
	if dir == "" {
		if !filepath.IsAbs(rel) {
			return "", fmt.Errorf("log path %q is relative but the pod has no log directory: %w", rel, errdefs.ErrInvalidArgument)
		}
		return filepath.Clean(rel), nil
	}
	if filepath.IsAbs(rel) {
		return "", fmt.Errorf("log path %q must be relative to the pod's log directory: %w", rel, errdefs.ErrInvalidArgument)
	}
	p := filepath.Join(dir, rel)
	if !strings.HasPrefix(p, filepath.Clean(dir)+"/") {
		return "", fmt.Errorf("log path %q leaves the pod's log directory: %w", rel, errdefs.ErrInvalidArgument)
	}
	return p, nil
}

func (s *RuntimeService) podShm(sb *store.Sandbox, cfg *runtimeapi.PodSandboxConfig) string {
	if cfg.GetLinux().GetSecurityContext().GetNamespaceOptions().GetIpc() == runtimeapi.NamespaceMode_NODE {
		return ""
	}
	return shmDir(sb.Dir)
}

// rootfsDirs lists a snapshot's directories, top first, for reading the
// image's files without mounting it.
func rootfsDirs(mounts []*types.Mount) spec.Rootfs {
	var dirs spec.Rootfs
	for _, m := range mounts {
		if m.Type != "overlay" {
			dirs = append(dirs, m.Source)
			continue
		}
		var lower []string
		for _, o := range m.Options {
			if v, ok := strings.CutPrefix(o, "upperdir="); ok {
				dirs = append(dirs, v)
			}
			if v, ok := strings.CutPrefix(o, "lowerdir="); ok {
				lower = strings.Split(v, ":")
			}
		}
		dirs = append(dirs, lower...)
	}
	return dirs
}

func toStoreMounts(ms []*types.Mount) []store.Mount {
	var out []store.Mount
	for _, m := range ms {
		out = append(out, store.Mount{Type: m.Type, Source: m.Source, Target: m.Target, Options: m.Options})
	}
	return out
}

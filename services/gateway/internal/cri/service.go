package cri

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"sync"
	"time"

	containersapi "github.com/containerd/containerd/api/services/containers/v1"
	imagesapi "github.com/containerd/containerd/api/services/images/v1"
	snapshotsapi "github.com/containerd/containerd/api/services/snapshots/v1"
	tasksapi "github.com/containerd/containerd/api/services/tasks/v1"
	"github.com/containerd/containerd/api/types"
	"github.com/containerd/containerd/api/types/task"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/anypb"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"berth.dev/pkg/namespace"
	tasksv1 "berth.dev/proto/berth/tasks/v1"
	"berth.dev/services/gateway/internal/cri/cni"
	"berth.dev/services/gateway/internal/cri/store"
)

// Namespace is the containerd namespace every CRI object lives in.
const Namespace = "k8s.io"

// Image is what the runtime needs of an image.
type Image struct {
	// ID is the config digest ("sha256:...").
	ID string
	// Name is the containerd image record name.
	Name        string
	RepoTags    []string
	RepoDigests []string
	// ChainID names the unpacked rootfs snapshot.
	ChainID string
	Config  ocispec.ImageConfig
	Size    uint64
}

// ImageResolver finds images (the CRI ImageService's store).
type ImageResolver interface {
	// Resolve finds a local image by id, name or digest reference;
	// errdefs.ErrNotFound when absent.
	Resolve(ctx context.Context, ref string) (*Image, error)
	// Ensure is Resolve, pulling when missing.
	Ensure(ctx context.Context, ref string, auth *runtimeapi.AuthConfig) (*Image, error)
}

// Tasks is what the runtime asks of taskd (pkg/taskdclient).
type Tasks interface {
	CreateContainer(ctx context.Context, c *containersapi.Container) error
	DeleteContainer(ctx context.Context, id string) error
	CreateTask(ctx context.Context, req *tasksapi.CreateTaskRequest) (uint32, error)
	StartTask(ctx context.Context, id string) (uint32, error)
	RunTask(ctx context.Context, req *tasksv1.RunTaskRequest) (uint32, error)
	KillTask(ctx context.Context, id string, signal uint32, all bool) error
	DeleteTask(ctx context.Context, id string) (*tasksapi.DeleteResponse, error)
	Task(ctx context.Context, id string) (*task.Process, error)
	Wait(ctx context.Context, id, execID string) (uint32, time.Time, error)
	TaskMetrics(ctx context.Context, filters ...string) ([]*types.Metric, error)
	UpdateTask(ctx context.Context, id string, resources *anypb.Any) error
	ReopenLog(ctx context.Context, id string) error
	PrepareTask(ctx context.Context, id string, spec, opts *anypb.Any, rootfs []*types.Mount) error
	Containers(ctx context.Context) ([]*containersapi.Container, error)
}

// Snapshots is what the runtime asks of snapshotd (pkg/snapshotdclient).
type Snapshots interface {
	Stat(ctx context.Context, snapshotter, key string) (*snapshotsapi.Info, error)
	Prepare(ctx context.Context, snapshotter, key, parent string) ([]*types.Mount, error)
	Apply(ctx context.Context, desc *types.Descriptor, mounts []*types.Mount, syncFS, overlayWhiteouts bool) (*types.Descriptor, error)
	Commit(ctx context.Context, snapshotter, name, key, parent string) error
	Remove(ctx context.Context, snapshotter, key string) error
	Usage(ctx context.Context, snapshotter, key string) (size, inodes int64, err error)
	List(ctx context.Context, snapshotter string) ([]*snapshotsapi.Info, error)
}

// Content is what the runtime asks of imaged (pkg/imagedclient) to
// install the built-in pause image.
type Content interface {
	Write(ctx context.Context, ref string, r io.Reader, size int64, dgst string, labels map[string]string) error
	PutImage(ctx context.Context, img *imagesapi.Image) error
}

// Config says where the runtime keeps its files and how it runs pods.
type Config struct {
	// Root holds per-sandbox directories (hostname, resolv.conf, hosts,
	// /dev/shm).
	Root string
	// NetNSDir holds pinned network namespaces.
	NetNSDir string
	// SandboxImage is the pause image; when it cannot be obtained the
	// built-in one (from PauseBinary) is used.
	SandboxImage string
	PauseBinary  string
	// SystemdCgroup selects the systemd cgroup driver.
	SystemdCgroup bool
	// DefaultHandler is the runtime handler of pods that name none ("":
	// taskd's default runtime). Like containerd's CRI default runtime it
	// is the CRI's own choice, apart from what other clients get.
	DefaultHandler string
	Snapshotter    string
	// SnapshotsDir is where the snapshotter keeps its layers: the
	// filesystem a container's writable layer is on.
	SnapshotsDir string
	// Node is this node's id: the monitor follows its tasks' events.
	Node string
	// Release is the version Version reports.
	Release string
}

// RuntimeService serves runtime.v1.RuntimeService.
type RuntimeService struct {
	runtimeapi.UnimplementedRuntimeServiceServer
	Config
	Store     *store.Store
	Tasks     Tasks
	Snapshots Snapshots
	Content   Content
	Network   *cni.Network
	Images    ImageResolver
	Streamer  Streamer

	pauseImage cachedImage
	events     *broadcaster
	runtimeCfg runtimeState
	locks      idLocks
	// layerUsage caches containers' writable layer figures by id.
	layerUsage sync.Map
	// cleanups counts rootfs removals still running after their
	// RemoveContainer answered.
	cleanups sync.WaitGroup
	// started is when this gateway began: records older than it were made
	// by an earlier run.
	started time.Time
	// preparing holds, by container id, a channel closed once taskd
	// answered the preparation of the container's task (prepareTask).
	preparing sync.Map
	// tasksGone holds the containers whose exit this gateway recorded and
	// whose task it deleted, so a later exit event or their removal skips
	// asking taskd again.
	tasksGone sync.Map
}

// New returns the service; Images and Streamer may be set afterwards.
func New(cfg Config, st *store.Store, tasks Tasks, snaps Snapshots, content Content, network *cni.Network) *RuntimeService {
	if cfg.Snapshotter == "" {
		cfg.Snapshotter = "overlayfs"
	}
	return &RuntimeService{Config: cfg, Store: st, Tasks: tasks, Snapshots: snaps, Content: content, Network: network, events: newBroadcaster(),
		started: time.Now()}
}

// Register adds the service to srv.
func (s *RuntimeService) Register(srv *grpc.Server) { runtimeapi.RegisterRuntimeServiceServer(srv, s) }

// daemonCtx carries the k8s.io namespace to taskd, snapshotd and imaged.
func daemonCtx(ctx context.Context) context.Context { return namespace.WithNamespace(ctx, Namespace) }

// newID returns a 64-hex random id, like containerd's.
func newID() string {
	b := make([]byte, 32)
	rand.Read(b)
	return hex.EncodeToString(b)
}

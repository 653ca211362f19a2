package store

import (
	"time"
)

// State of a sandbox.
const (
	SandboxReady    = "ready"
	SandboxNotReady = "notready"
)

// State of a container.
const (
	ContainerCreated = "created"
	ContainerRunning = "running"
	ContainerExited  = "exited"
	ContainerUnknown = "unknown"
)

// Metadata is the CRI metadata a name is derived from.
type Metadata struct {
	Name      string `json:"name"`
	UID       string `json:"uid,omitempty"`
	Namespace string `json:"namespace,omitempty"`
	Attempt   uint32 `json:"attempt,omitempty"`
}

// Sandbox is a pod sandbox: its pause container in taskd has the same id.
type Sandbox struct {
	ID          string            `json:"id"`
	Name        string            `json:"name"`
	Metadata    Metadata          `json:"metadata"`
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
	// Config is the PodSandboxConfig as protobuf, for status and for the
	// containers joining the sandbox.
	Config         []byte    `json:"config,omitempty"`
	RuntimeHandler string    `json:"runtimeHandler,omitempty"`
	State          string    `json:"state"`
	CreatedAt      time.Time `json:"createdAt"`
	NetNS          string    `json:"netns,omitempty"`
	IP             string    `json:"ip,omitempty"`
	AdditionalIPs  []string  `json:"additionalIPs,omitempty"`
	// CNIResult is the CNI result as JSON, for the verbose status.
	CNIResult    []byte `json:"cniResult,omitempty"`
	Pid          uint32 `json:"pid,omitempty"`
	Image        string `json:"image,omitempty"`
	CgroupParent string `json:"cgroupParent,omitempty"`
	// Dir holds the files shared with the containers (hostname,
	// resolv.conf, hosts, /dev/shm).
	Dir string `json:"dir,omitempty"`
}

// Container is a CRI container: a taskd container with the same id.
type Container struct {
	ID          string            `json:"id"`
	SandboxID   string            `json:"sandboxId"`
	Name        string            `json:"name"`
	Metadata    Metadata          `json:"metadata"`
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
	// Config is the ContainerConfig as protobuf.
	Config []byte `json:"config,omitempty"`
	// Image is the image as the caller named it; ImageID its config digest;
	// ImageName the containerd image record name.
	Image      string    `json:"image"`
	ImageID    string    `json:"imageId"`
	ImageName  string    `json:"imageName,omitempty"`
	StopSignal string    `json:"stopSignal,omitempty"`
	LogPath    string    `json:"logPath,omitempty"`
	State      string    `json:"state"`
	CreatedAt  time.Time `json:"createdAt"`
	StartedAt  time.Time `json:"startedAt,omitzero"`
	FinishedAt time.Time `json:"finishedAt,omitzero"`
	ExitCode   int32     `json:"exitCode,omitempty"`
	Reason     string    `json:"reason,omitempty"`
	Message    string    `json:"message,omitempty"`
	Pid        uint32    `json:"pid,omitempty"`
	// OOMKilled is set by the OOM event, before the exit arrives.
	OOMKilled bool `json:"oomKilled,omitempty"`
	// Resources is the LinuxContainerResources last applied, as protobuf.
	Resources []byte `json:"resources,omitempty"`
	// ImageRef is the image's repo digest, or its id.
	ImageRef string `json:"imageRef,omitempty"`
	// UID, GID and Groups are the identity the process runs with.
	UID    uint32   `json:"uid"`
	GID    uint32   `json:"gid"`
	Groups []uint32 `json:"groups,omitempty"`
	// Rootfs is how the container's snapshot mounts.
	Rootfs []Mount `json:"rootfs,omitempty"`
}

// Mount is one rootfs mount.
type Mount struct {
	Type    string   `json:"type"`
	Source  string   `json:"source"`
	Target  string   `json:"target,omitempty"`
	Options []string `json:"options,omitempty"`
}

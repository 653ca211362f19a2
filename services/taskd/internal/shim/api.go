package shim

import "time"

// ExitsName is the exit log inside a container's shim directory.
const ExitsName = "exits.json"

// Stdio names the client's fifos (any may be empty).
type Stdio struct {
	Stdin, Stdout, Stderr string
	Terminal              bool
}

// CreateRequest creates the container's init process.
type CreateRequest struct {
	Stdio Stdio
}

// ExecRequest adds a process to the container.
type ExecRequest struct {
	ExecID string
	// Spec is the runtime-spec Process as JSON.
	Spec  []byte
	Stdio Stdio
}

// ProcessRequest names a process: ExecID empty is the init process.
type ProcessRequest struct {
	ExecID string
}

// KillRequest signals a process.
type KillRequest struct {
	ExecID string
	Signal int
	All    bool
}

// ResizeRequest resizes a process's pty.
type ResizeRequest struct {
	ExecID        string
	Width, Height uint32
}

// UpdateRequest changes the container's resources (runtime-spec
// LinuxResources as JSON).
type UpdateRequest struct {
	Resources []byte
}

// Status of a process, as containerd names them.
const (
	StatusCreated = "created"
	StatusRunning = "running"
	StatusStopped = "stopped"
	StatusPaused  = "paused"
)

// State describes a process.
type State struct {
	ExecID     string
	Pid        int
	Status     string
	ExitStatus uint32
	ExitedAt   time.Time
	Stdio      Stdio
}

// Pids lists the container's processes.
type Pids struct {
	Pids []int
	// Exec maps pids to the exec id that started them.
	Exec map[int]string
}

// Empty is an empty message.
type Empty struct{}

// Exit is one recorded exit.
type Exit struct {
	ExecID   string    `json:"execID"`
	Pid      int       `json:"pid"`
	Status   uint32    `json:"status"`
	ExitedAt time.Time `json:"exitedAt"`
}

// Stats are the container's cgroup figures, as runc reports them (JSON of
// go-runc's Stats, decoded by taskd).
type Stats struct {
	JSON []byte
}

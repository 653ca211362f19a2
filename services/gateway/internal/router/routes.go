package router

import "strings"

// Owners says which daemon serves which services (a trailing "." is a
// prefix, for Berth's own APIs); everything else on the node socket is the
// gateway's own or unknown.
var Owners = []struct {
	Daemon   string
	Services []string
}{
	{"imaged", []string{"containerd.services.content.v1.Content", "containerd.services.images.v1.Images", "containerd.services.leases.v1.Leases",
		"containerd.services.transfer.v1.Transfer", "containerd.services.streaming.v1.Streaming", "berth.images."}},
	{"snapshotd", []string{"containerd.services.snapshots.v1.Snapshots", "containerd.services.diff.v1.Diff", "berth.snapshots."}},
	{"taskd", []string{"containerd.services.containers.v1.Containers", "containerd.services.tasks.v1.Tasks", "berth.tasks."}},
}

// batched lists the server-streaming methods whose daemon packs several
// messages to a frame when the gateway asks (package batch); the gateway
// unpacks them, so its client receives them one by one as from containerd.
var batched = map[string]bool{
	"/containerd.services.containers.v1.Containers/ListStream": true,
}

// readOnly lists method-name prefixes that never create anything. Any other
// forwarded call makes its namespace exist, as a first write does in
// containerd.
var readOnly = []string{"Get", "List", "Info", "Read", "Status", "Stat", "Mounts", "Usage", "Wait", "Metrics", "ListPids", "Delete", "Remove", "Abort", "Kill", "Check"}

// Writes reports whether method (a full gRPC method name) may create
// resources in its namespace.
func Writes(method string) bool {
	name := method[strings.LastIndexByte(method, '/')+1:]
	for _, p := range readOnly {
		if strings.HasPrefix(name, p) {
			return false
		}
	}
	return true
}

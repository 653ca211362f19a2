package router

import "strings"

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

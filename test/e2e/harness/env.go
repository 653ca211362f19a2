package harness

import (
	"os"
	"strings"
)

// RuntimeEnv names the OCI runtime (runc, crun) the stacks of a test run
// default to (taskd's BERTH_RUNTIME_BINARY); unset, taskd picks its own
// default (crun where installed). scripts/test runs the main tests under
// both runtimes with it.
const RuntimeEnv = "BERTH_E2E_RUNTIME"

// Environ is the environment daemons, scripts and clients under test
// inherit: the test process's, less every BERTH_* and CONTAINERD_* variable,
// so a stack the caller's shell configured (BERTH_ROOT, BERTH_NATS_URL,
// BERTH_SHIM_BINARY, ctr's CONTAINERD_NAMESPACE...) never leaks into the one
// a test starts. Tests add the variables they mean.
func Environ() []string {
	var out []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "BERTH_") && !strings.HasPrefix(kv, "CONTAINERD_") {
			out = append(out, kv)
		}
	}
	return out
}

// Package harness builds Berth's binaries and runs a whole stack (gateway,
// imaged, snapshotd, taskd, embedded NATS) on temporary directories for
// end-to-end tests, with the real ctr client as the driver. Everything a
// stack creates (processes, shims, runc containers, mounts, directories) is
// removed when the test ends, whether it passed or not.
package harness

// Package pause installs Berth's built-in pause image: a one-layer image
// holding the berth-pause binary, written into imaged's content store and
// unpacked through snapshotd, so a node without registry access still
// starts pods. It is built in process from the binary next to the gateway.
package pause

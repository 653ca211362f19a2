// Package store keeps the CRI's pod sandbox and container records in the
// gateway's badger database, and reserves their names: a second sandbox or
// container with the same metadata-derived name is refused, naming the
// holder. It knows nothing of gRPC, taskd or CNI.
package store

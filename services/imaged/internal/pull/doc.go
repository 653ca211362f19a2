// Package pull is imaged's server-side pull: resolve a reference through
// the registry's endpoints (mirrors first), pick the node's platform from an
// index, download layers in parallel straight into verified ingests (each
// blob hashed once), and unpack through snapshotd while they download: on
// overlayfs each fresh download is teed into a pipe snapshotd applies as it
// arrives, and the snapshot is kept only once the blob committed under its
// digest and the layer's diff id matched. Everything the pull writes is held
// by a lease until the image record and its garbage-collection labels exist.
package pull

// Package pull is imaged's server-side pull: resolve a reference through
// the registry's endpoints (mirrors first), pick the node's platform from an
// index, download layers in parallel straight into verified ingests, and
// unpack each layer through snapshotd as soon as it and its parents are
// present, while later layers still download. Everything the pull writes is
// held by a lease until the image record and its garbage-collection labels
// exist.
package pull

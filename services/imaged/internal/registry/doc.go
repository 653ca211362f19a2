// Package registry says how to reach a registry: the endpoints to try
// (mirrors first) from containerd's certs.d/<host>/hosts.toml format, read
// anew at each pull so an operator's edits need no restart, and the
// credentials from a docker config.json.
//
// Berth talks the distribution protocol through go-containerregistry: it is
// the maintained client that crane and ko use, handles token auth and the
// Docker and OCI media types, and exposes plain io.Readers for blobs so that
// imaged can stream them straight into its verified ingests.
package registry

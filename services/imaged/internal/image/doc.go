// Package image keeps image records: a name in a namespace pointing at a
// target descriptor (a manifest or an index in the content store), with
// labels, as containerd's images service does.
package image

// Package filters implements containerd's filter syntax, which clients use to
// select images, containers, content, snapshots and events:
//
//	name==docker.io/library/busybox:1,labels."io.k8s.pod"~=^web
//
// Selectors separated by ',' must all match; several filter strings match
// when any one does. A selector is a field path (dot separated, parts may be
// quoted), optionally followed by ==, != or ~= (regular expression) and a
// value (bare, "quoted" or /quoted/). A bare field path matches when the
// field is present.
package filters

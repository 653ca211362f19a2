// Package filters implements containerd's filter syntax, which clients use to
// select images, containers, content, snapshots and events:
//
//	name==docker.io/library/busybox:1,labels."io.k8s.pod"~=^web
//
// Selectors separated by ',' must all match; several filter strings match
// when any one does, and an empty one matches everything. A selector is a
// field path (dot separated, parts [A-Za-z0-9_]+ or "quoted"), optionally
// followed by ==, != or ~= (regular expression) and a value: bare (up to the
// next ',' or space), "quoted", or, for a regular expression only, /quoted/
// or |quoted| (a client subscribing to task events sends topic~=|^/tasks/|).
// A bare field path matches when the field is present. The scanner and
// parser follow containerd's token for token, so a filter containerd
// rejects is rejected here; Berth differs only in refusing a regular
// expression that does not compile, which containerd leaves to match nothing.
package filters

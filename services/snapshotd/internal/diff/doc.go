// Package diff computes the layer between two directory trees, the walking
// way: every path of the upper tree that is new or changed becomes a tar
// entry, every path the lower tree has and the upper lacks an OCI whiteout.
// The result applied onto the lower tree gives the upper one.
package diff

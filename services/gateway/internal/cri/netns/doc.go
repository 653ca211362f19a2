// Package netns creates network namespaces pinned by a bind mount under a
// directory of Berth's state, so a pod's network outlives every process in
// it and can be handed to CNI plugins and to the pod's containers by path.
package netns

// Package transfer is containerd's transfer service mapped onto imaged:
// a registry into the image store is imaged's server-side pull, an archive
// stream into the image store its import, the image store into an archive
// stream its export, the image store into a registry a push, and the image
// store into itself a tag. Progress, credentials and archive bytes travel
// on streams the client opened with the streaming service (package
// stream), in the shapes containerd 2.x's ctr prints and answers.
package transfer

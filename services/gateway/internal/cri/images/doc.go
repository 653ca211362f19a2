// Package images serves the CRI's image service (runtime.v1.ImageService)
// on top of imaged: pulls run inside imaged (berth.images.v1.Images/Pull, so
// hosts.toml mirrors and the layer pipeline apply), and the image records
// live in imaged's store in containerd's "k8s.io" namespace, named as
// containerd's CRI names them: the reference pulled, the repository digest
// and the config digest ("sha256:<hex>", the CRI image id), each labelled
// io.cri-containerd.image=managed. The package also resolves references for
// the runtime service (Resolve, Ensure). It does not own the records' storage
// nor the snapshots the layers unpack into; it reads both through their
// daemons' clients.
package images

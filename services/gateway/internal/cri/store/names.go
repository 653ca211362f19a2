package store

import "strconv"

// SandboxName is containerd's name for a sandbox:
// k8s_POD_<pod>_<namespace>_<uid>_<attempt>.
func SandboxName(md Metadata) string {
	return join("k8s", "POD", md.Name, md.Namespace, md.UID, strconv.FormatUint(uint64(md.Attempt), 10))
}

// ContainerName is containerd's name for a container:
// k8s_<container>_<pod>_<namespace>_<uid>_<attempt>.
func ContainerName(c Metadata, pod Metadata) string {
	return join("k8s", c.Name, pod.Name, pod.Namespace, pod.UID, strconv.FormatUint(uint64(c.Attempt), 10))
}

func join(parts ...string) string {
	n := 0
	for _, p := range parts {
		n += len(p) + 1
	}
	b := make([]byte, 0, n)
	for i, p := range parts {
		if i > 0 {
			b = append(b, '_')
		}
		b = append(b, p...)
	}
	return string(b)
}

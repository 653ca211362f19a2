package shim

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
)

// CgroupDir is the container's cgroup as a directory under each hierarchy
// ("/kubepods/pod1/c1"), read from its spec: a cgroupfs path as it is, a
// systemd one ("slice:prefix:name") as systemd lays the unit out. "" when
// the spec has none or it cannot be read.
func CgroupDir(bundle string) string {
	var spec struct {
		Linux struct {
			CgroupsPath string `json:"cgroupsPath"`
		} `json:"linux"`
	}
	b, err := os.ReadFile(filepath.Join(bundle, "config.json"))
	if err != nil || json.Unmarshal(b, &spec) != nil {
		return ""
	}
	return cgroupDir(spec.Linux.CgroupsPath)
}

func cgroupDir(path string) string {
	if path == "" {
		return ""
	}
	if !strings.Contains(path, ":") {
		if !strings.HasPrefix(path, "/") {
			path = "/" + path
		}
		return filepath.Clean(path)
	}
	parts := strings.Split(path, ":")
	if len(parts) != 3 {
		return ""
	}
	slice, prefix, name := parts[0], parts[1], parts[2]
	if slice == "" {
		slice = "system.slice" // the runtimes' default
	}
	dir, ok := expandSlice(slice)
	if !ok {
		return ""
	}
	unit := name
	if !strings.HasSuffix(name, ".slice") {
		unit = prefix + "-" + name + ".scope"
	}
	return filepath.Join(dir, unit)
}

// expandSlice turns a slice name into its path: systemd nests
// "a-b-c.slice" as /a.slice/a-b.slice/a-b-c.slice; "-.slice" is the root.
func expandSlice(slice string) (string, bool) {
	name, ok := strings.CutSuffix(slice, ".slice")
	if !ok || strings.Contains(name, "/") || name == "" {
		return "", false
	}
	if name == "-" {
		return "/", true
	}
	path, prefix := "", ""
	for _, part := range strings.Split(name, "-") {
		if part == "" {
			return "", false
		}
		path += "/" + prefix + part + ".slice"
		prefix += part + "-"
	}
	return path, true
}

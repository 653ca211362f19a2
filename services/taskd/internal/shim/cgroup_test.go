package shim

import "testing"

func TestCgroupDir(t *testing.T) {
	for path, want := range map[string]string{
		"":                  "",
		"/kubepods/pod1/c1": "/kubepods/pod1/c1",
		"berth/c1":          "/berth/c1",
		"kubepods-burstable-pod1.slice:cri-containerd:c1": "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1.slice/cri-containerd-c1.scope",
		"system.slice:berth:c1":                           "/system.slice/berth-c1.scope",
		":berth:c1":                                       "/system.slice/berth-c1.scope",
		"-.slice:berth:c1":                                "/berth-c1.scope",
		"kubepods.slice:x:kubepods-pod2.slice":            "/kubepods.slice/kubepods-pod2.slice",
		"bad--name.slice:p:c":                             "",
		"notaslice:p:c":                                   "",
		"a:b":                                             "",
	} {
		if got := cgroupDir(path); got != want {
			t.Errorf("cgroupDir(%q) = %q, want %q", path, got, want)
		}
	}
}

package shim

import (
	"testing"
	"time"
)

func TestExitLogKeepsEveryExit(t *testing.T) {
	dir := t.TempDir()
	l := &exitLog{path: dir + "/" + ExitsName}
	at := time.Unix(1700000000, 0).UTC()
	if err := l.add(Exit{Pid: 10, Status: 3, ExitedAt: at}); err != nil {
		t.Fatal(err)
	}
	if err := l.add(Exit{ExecID: "e1", Pid: 11, Status: 0, ExitedAt: at}); err != nil {
		t.Fatal(err)
	}
	exits, err := ReadExits(dir)
	if err != nil || len(exits) != 2 || exits[0].Status != 3 || exits[1].ExecID != "e1" || !exits[0].ExitedAt.Equal(at) {
		t.Fatalf("exits %+v %v", exits, err)
	}
	if none, err := ReadExits(t.TempDir()); err != nil || len(none) != 0 {
		t.Fatalf("no log: %v %v", none, err)
	}
}

func TestOOMKillsFromMemoryEvents(t *testing.T) {
	events := []byte("low 0\nhigh 0\nmax 12\noom 3\noom_kill 2\n")
	if n := oomKills(events); n != 2 {
		t.Fatalf("oom_kill = %d", n)
	}
	if n := oomKills([]byte("low 0\n")); n != 0 {
		t.Fatalf("no oom_kill line: %d", n)
	}
}

package cli

import (
	"context"
	"os"
	"strconv"
	"strings"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/errdefs"
	"github.com/spf13/cobra"

	"berth.dev/cmd/berth/internal/format"
)

func newTop(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "top CONTAINER",
		Short: "List a container's processes",
		Args:  cobra.ExactArgs(1),
		RunE: g.withClient(func(ctx context.Context, client *containerd.Client, args []string) error {
			ct, err := loadContainer(ctx, client, args[0])
			if err != nil {
				return err
			}
			task, err := ct.Task(ctx, nil)
			if errdefs.IsNotFound(err) {
				return problem(errdefs.ErrFailedPrecondition, "container %s is not running", ct.ID())
			}
			if err != nil {
				return err
			}
			pids, err := task.Pids(ctx)
			if err != nil {
				return err
			}
			t := format.NewTable(g.stdout, "UID", "PID", "PPID", "STATE", "CMD")
			for _, p := range pids {
				uid, ppid, st := procStatus(p.Pid)
				t.Row(uid, p.Pid, ppid, st, procCmdline(p.Pid))
			}
			return t.Flush()
		}),
	}
}

// procStatus reads a process's uid, parent and state from /proc (the
// client runs on the node).
func procStatus(pid uint32) (uid, ppid, state string) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(int(pid)) + "/status")
	if err != nil {
		return "?", "?", "?"
	}
	for _, line := range strings.Split(string(data), "\n") {
		k, v, _ := strings.Cut(line, ":")
		fields := strings.Fields(v)
		if len(fields) == 0 {
			continue
		}
		switch k {
		case "Uid":
			uid = fields[0]
		case "PPid":
			ppid = fields[0]
		case "State":
			state = fields[0]
		}
	}
	return uid, ppid, state
}

func procCmdline(pid uint32) string {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(int(pid)) + "/cmdline")
	if err != nil || len(data) == 0 {
		return "?"
	}
	return strings.TrimSpace(strings.ReplaceAll(string(data), "\x00", " "))
}

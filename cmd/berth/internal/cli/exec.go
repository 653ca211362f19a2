package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/errdefs"
	"github.com/spf13/cobra"
)

func newExec(g *globals) *cobra.Command {
	var tty, interactive bool
	var env []string
	var workdir, user string
	c := &cobra.Command{
		Use:   "exec [flags] CONTAINER COMMAND [ARG...]",
		Short: "Run a command in a running container",
		Args:  cobra.MinimumNArgs(2),
		RunE: func(c *cobra.Command, args []string) error {
			ctx := context.WithoutCancel(c.Context())
			client, ctx, err := g.connect(ctx)
			if err != nil {
				return err
			}
			defer client.Close()
			ct, err := loadContainer(ctx, client, args[0])
			if err != nil {
				return err
			}
			task, err := ct.Task(ctx, nil)
			if errdefs.IsNotFound(err) {
				return problem(errdefs.ErrFailedPrecondition, "container %s is not running: start it first (berth start %s)", ct.ID(), ct.ID())
			}
			if err != nil {
				return err
			}
			spec, err := ct.Spec(ctx)
			if err != nil {
				return err
			}
			pspec := *spec.Process
			pspec.Args = args[1:]
			pspec.Terminal = tty
			pspec.Env = append(append([]string(nil), pspec.Env...), env...)
			if workdir != "" {
				pspec.Cwd = workdir
			}
			if user != "" {
				if pspec.User.UID, pspec.User.GID, err = lookupUser(task.Pid(), user); err != nil {
					return err
				}
				pspec.User.AdditionalGids = nil
			}
			s, err := newStdio(g, tty, interactive)
			if err != nil {
				return err
			}
			defer s.reset()
			execID := "exec-" + randomID()[:12]
			p, err := task.Exec(ctx, execID, &pspec, s.creator)
			if err != nil {
				return startFailure{err}
			}
			code, err := s.attach(ctx, p)
			p.Delete(ctx)
			if err != nil {
				return err
			}
			if code != 0 {
				return exitStatus{code}
			}
			return nil
		},
	}
	fl := c.Flags()
	fl.SetInterspersed(false)
	fl.BoolVarP(&tty, "tty", "t", false, "give the process a terminal")
	fl.BoolVarP(&interactive, "interactive", "i", false, "pass stdin to the process")
	fl.StringArrayVarP(&env, "env", "e", nil, "set an environment variable (KEY=value)")
	fl.StringVarP(&workdir, "workdir", "w", "", "working directory inside the container")
	fl.StringVarP(&user, "user", "u", "", "user[:group] (names or ids)")
	return c
}

// lookupUser resolves user[:group] against the container's own
// /etc/passwd and /etc/group, read through its init process's root.
func lookupUser(pid uint32, spec string) (uint32, uint32, error) {
	root := fmt.Sprintf("/proc/%d/root", pid)
	name, group, _ := strings.Cut(spec, ":")
	uid, gid, err := lookupID(filepath.Join(root, "etc/passwd"), name, true)
	if err != nil {
		return 0, 0, err
	}
	if group != "" {
		if gid, _, err = lookupID(filepath.Join(root, "etc/group"), group, false); err != nil {
			return 0, 0, err
		}
	}
	return uid, gid, nil
}

// lookupID finds name (or a number) in a passwd or group file, returning
// its id and, for passwd, its primary group.
func lookupID(file, name string, passwd bool) (uint32, uint32, error) {
	if n, err := strconv.ParseUint(name, 10, 32); err == nil {
		id := uint32(n)
		gid := uint32(0)
		if passwd {
			gid = id
		}
		// A number may still have an entry with its primary group.
		data, _ := os.ReadFile(file)
		for _, line := range strings.Split(string(data), "\n") {
			f := strings.Split(line, ":")
			if passwd && len(f) >= 4 && f[2] == name {
				if g, err := strconv.ParseUint(f[3], 10, 32); err == nil {
					gid = uint32(g)
				}
			}
		}
		return id, gid, nil
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return 0, 0, fmt.Errorf("user %q: %w", name, err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Split(line, ":")
		if len(f) < 3 || f[0] != name {
			continue
		}
		id, err := strconv.ParseUint(f[2], 10, 32)
		if err != nil {
			break
		}
		gid := uint64(0)
		if passwd && len(f) >= 4 {
			gid, _ = strconv.ParseUint(f[3], 10, 32)
		}
		return uint32(id), uint32(gid), nil
	}
	return 0, 0, problem(errdefs.ErrNotFound, "no %q in the container's %s", name, filepath.Base(file))
}

var _ process = (containerd.Process)(nil)

package cli

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/containerd/errdefs"
	"github.com/spf13/cobra"
)

// runFlags are `berth run`'s options.
type runFlags struct {
	detach, rm, tty, interactive, readOnly bool
	env, envFiles, volumes, ports          []string
	capAdd, capDrop                        []string
	name, workdir, user, memory, restart   string
	network, snapshotter, hostname         string
	cpus                                   float64
	pidsLimit                              int64
}

func (f *runFlags) add(c *cobra.Command) {
	fl := c.Flags()
	fl.SetInterspersed(false) // flags after the image belong to the command
	fl.BoolVarP(&f.detach, "detach", "d", false, "run in the background and print the container's id")
	fl.BoolVar(&f.rm, "rm", false, "remove the container when it exits")
	fl.BoolVarP(&f.tty, "tty", "t", false, "give the process a terminal")
	fl.BoolVarP(&f.interactive, "interactive", "i", false, "keep stdin open and pass it to the process")
	fl.StringArrayVarP(&f.env, "env", "e", nil, "set an environment variable (KEY=value, or KEY to take it from here)")
	fl.StringArrayVar(&f.envFiles, "env-file", nil, "read environment variables from a file (KEY=value lines)")
	fl.StringArrayVarP(&f.volumes, "volume", "v", nil, "bind mount a host path: /host:/container[:ro]")
	fl.StringVar(&f.name, "name", "", "the container's name (and id); generated when empty")
	fl.StringVarP(&f.workdir, "workdir", "w", "", "working directory inside the container")
	fl.StringVarP(&f.user, "user", "u", "", "user[:group] (names or ids) to run as")
	fl.StringVarP(&f.memory, "memory", "m", "", "memory limit (e.g. 64m, 1g)")
	fl.Float64Var(&f.cpus, "cpus", 0, "CPUs the container may use (e.g. 0.5)")
	fl.Int64Var(&f.pidsLimit, "pids-limit", 0, "most processes the container may have")
	fl.BoolVar(&f.readOnly, "read-only", false, "mount the root filesystem read-only")
	fl.StringArrayVar(&f.capAdd, "cap-add", nil, "add a Linux capability (e.g. NET_ADMIN)")
	fl.StringArrayVar(&f.capDrop, "cap-drop", nil, "drop a Linux capability (ALL drops every one)")
	fl.StringVar(&f.restart, "restart", "no", "restart policy recorded on the container: no, always, on-failure[:N] (see berth run --help)")
	fl.StringVar(&f.network, "net", "none", "network: none, host, bridge (CNI conflist berth-bridge) or another conflist's name")
	fl.StringArrayVarP(&f.ports, "publish", "p", nil, "publish a port: [hostIP:]hostPort:containerPort[/tcp|udp] (bridge)")
	fl.StringVar(&f.snapshotter, "snapshotter", "overlayfs", "snapshotter for the root filesystem")
	fl.StringVar(&f.hostname, "hostname", "", "the container's hostname (default: its name)")
	fl.StringVar(&f.network, "network", "none", "same as --net")
	fl.MarkHidden("network")
	c.RegisterFlagCompletionFunc("net", cobra.FixedCompletions([]string{"none", "host", "bridge"}, cobra.ShellCompDirectiveNoFileComp))
	c.RegisterFlagCompletionFunc("restart", cobra.FixedCompletions([]string{"no", "always", "on-failure"}, cobra.ShellCompDirectiveNoFileComp))
}

func invalid(format string, args ...any) error {
	return usageError{fmt.Errorf(format+": %w", append(args, errdefs.ErrInvalidArgument)...)}
}

// environment merges --env-file files and -e flags, in that order.
func (f *runFlags) environment() ([]string, error) {
	var out []string
	for _, path := range f.envFiles {
		file, err := os.Open(path)
		if err != nil {
			return nil, usageError{fmt.Errorf("--env-file: %w", err)}
		}
		sc := bufio.NewScanner(file)
		for sc.Scan() {
			line := strings.TrimSpace(sc.Text())
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			out = append(out, expandEnv(line))
		}
		file.Close()
	}
	for _, e := range f.env {
		if strings.HasPrefix(e, "=") || e == "" {
			return nil, invalid("-e %q: want KEY=value", e)
		}
		out = append(out, expandEnv(e))
	}
	return out, nil
}

// expandEnv turns a bare KEY into KEY=<this process's value>, as docker does.
func expandEnv(kv string) string {
	if strings.Contains(kv, "=") {
		return kv
	}
	return kv + "=" + os.Getenv(kv)
}

// memoryBytes parses 64m, 1g, 512k, 1048576.
func memoryBytes(s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	mult := int64(1)
	num := strings.ToLower(strings.TrimSuffix(strings.ToLower(s), "b"))
	switch {
	case strings.HasSuffix(num, "k"):
		mult, num = 1<<10, num[:len(num)-1]
	case strings.HasSuffix(num, "m"):
		mult, num = 1<<20, num[:len(num)-1]
	case strings.HasSuffix(num, "g"):
		mult, num = 1<<30, num[:len(num)-1]
	}
	n, err := strconv.ParseFloat(num, 64)
	if err != nil || n <= 0 {
		return 0, invalid("--memory %q: want a size like 64m or 1g", s)
	}
	return int64(n * float64(mult)), nil
}

// restartPolicy validates --restart.
func restartPolicy(s string) (string, error) {
	switch name, count, _ := strings.Cut(s, ":"); name {
	case "no", "always", "unless-stopped":
		if count != "" {
			return "", invalid("--restart %q: only on-failure takes a count", s)
		}
		return s, nil
	case "on-failure":
		if count != "" {
			if n, err := strconv.Atoi(count); err != nil || n < 0 {
				return "", invalid("--restart %q: the count is a number", s)
			}
		}
		return s, nil
	}
	return "", invalid("--restart %q: want no, always, unless-stopped or on-failure[:N]", s)
}

// bindMount parses -v /host:/container[:ro|rw].
type bindMount struct {
	source, target string
	readOnly       bool
}

func parseVolume(v string) (bindMount, error) {
	parts := strings.Split(v, ":")
	if len(parts) < 2 || len(parts) > 3 || !strings.HasPrefix(parts[0], "/") || !strings.HasPrefix(parts[1], "/") {
		return bindMount{}, invalid("-v %q: want /host/path:/container/path[:ro] (named volumes are not supported)", v)
	}
	m := bindMount{source: parts[0], target: parts[1]}
	if len(parts) == 3 {
		switch parts[2] {
		case "ro":
			m.readOnly = true
		case "rw":
		default:
			return bindMount{}, invalid("-v %q: option %q (want ro or rw)", v, parts[2])
		}
	}
	if _, err := os.Stat(m.source); err != nil {
		return bindMount{}, usageError{fmt.Errorf("-v %q: %w", v, err)}
	}
	return m, nil
}

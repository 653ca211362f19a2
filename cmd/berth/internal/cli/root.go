package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

// Version and Revision are the client's, set by main from what the build
// stamped; "dev" when nothing was.
var (
	Version  = "dev"
	Revision string
)

// globals are the flags every command shares.
type globals struct {
	address   string
	namespace string
	debug     bool
	stdin     io.Reader
	stdout    io.Writer
	stderr    io.Writer
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// Main runs berth with args and returns the process's exit code.
func Main(args []string) int {
	g := &globals{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr}
	root := newRoot(g)
	root.SetArgs(args)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := root.ExecuteContext(ctx)
	return report(g, err)
}

func newRoot(g *globals) *cobra.Command {
	root := &cobra.Command{
		Use:   "berth",
		Short: "Run and manage containers on a Berth node",
		Long: `berth is the everyday client for a Berth node: pull and manage images, run
containers, read their logs, exec into them, and look at the node's health.
It talks to the node socket (--address, $BERTH_ADDRESS).`,
		SilenceUsage:      true,
		SilenceErrors:     true,
		CompletionOptions: cobra.CompletionOptions{HiddenDefaultCmd: true},
	}
	root.SetOut(g.stdout)
	root.SetErr(g.stderr)
	pf := root.PersistentFlags()
	pf.StringVar(&g.address, "address", envOr("BERTH_ADDRESS", "/run/berth/berth.sock"), "node socket ($BERTH_ADDRESS)")
	pf.StringVarP(&g.namespace, "namespace", "n", envOr("BERTH_NAMESPACE", "default"), "namespace ($BERTH_NAMESPACE)")
	pf.BoolVar(&g.debug, "debug", false, "print the calls made and full errors")
	root.AddGroup(&cobra.Group{ID: "containers", Title: "Containers:"}, &cobra.Group{ID: "images", Title: "Images:"},
		&cobra.Group{ID: "node", Title: "Node:"})
	for _, c := range []*cobra.Command{newRun(g), newPs(g), newLogs(g), newExec(g), newStart(g), newStop(g),
		newKill(g), newRm(g), newInspect(g), newStats(g), newTop(g)} {
		c.GroupID = "containers"
		root.AddCommand(c)
	}
	for _, c := range []*cobra.Command{newPull(g), newImages(g), newImportCmd(g), newExportCmd(g)} {
		c.GroupID = "images"
		root.AddCommand(c)
	}
	for _, c := range []*cobra.Command{newEvents(g), newNamespace(g), newSystem(g), newVersion(g)} {
		c.GroupID = "node"
		root.AddCommand(c)
	}
	root.AddCommand(newCompletion(root))
	setCompletions(root, g)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return usageError{fmt.Errorf("%w\nSee '%s --help'.", err, c.CommandPath())}
	})
	return root
}

// debugf prints to stderr when --debug is set.
func (g *globals) debugf(format string, args ...any) {
	if g.debug {
		fmt.Fprintf(g.stderr, "debug: "+format+"\n", args...)
	}
}

// setCompletions gives each command that takes names the right candidates.
func setCompletions(root *cobra.Command, g *globals) {
	for _, c := range root.Commands() {
		switch c.Name() {
		case "run":
			c.ValidArgsFunction = firstArgOnly(completeImages(g))
		case "exec":
			c.ValidArgsFunction = firstArgOnly(completeContainers(g, true))
		case "logs", "top", "stop", "kill", "stats":
			c.ValidArgsFunction = completeContainers(g, c.Name() != "logs")
		case "start", "rm", "inspect":
			c.ValidArgsFunction = completeContainers(g, false)
		case "images":
			for _, sub := range c.Commands() {
				switch sub.Name() {
				case "rm", "tag", "inspect", "export":
					sub.ValidArgsFunction = completeImages(g)
				}
			}
		case "export":
			c.ValidArgsFunction = completeImages(g)
		}
	}
}

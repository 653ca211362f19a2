package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"berth.dev/cmd/berth/internal/format"
)

// outputFlags are --format and -q, shared by every listing.
type outputFlags struct {
	format string
	quiet  bool
}

func (o *outputFlags) add(c *cobra.Command, quietWhat string) {
	c.Flags().StringVar(&o.format, "format", "table", "table or json (one JSON object per line)")
	c.Flags().BoolVarP(&o.quiet, "quiet", "q", false, "print only "+quietWhat)
	c.RegisterFlagCompletionFunc("format", cobra.FixedCompletions([]string{"table", "json"}, cobra.ShellCompDirectiveNoFileComp))
}

// print writes rows as JSON lines, as keys (-q) or as a table.
func printRows[T any](o *outputFlags, g *globals, rows []T, key func(T) string, table func(*format.Table), headers ...string) error {
	switch {
	case o.format == "json":
		return format.JSONLines(g.stdout, rows)
	case o.format != "table" && o.format != "":
		return usageError{fmt.Errorf("--format %q: want table or json", o.format)}
	case o.quiet:
		for _, r := range rows {
			fmt.Fprintln(g.stdout, key(r))
		}
		return nil
	}
	t := format.NewTable(g.stdout, headers...)
	table(t)
	return t.Flush()
}

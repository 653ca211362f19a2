package cli

import (
	"fmt"
	"runtime"

	"github.com/spf13/cobra"
	"google.golang.org/protobuf/types/known/emptypb"

	"berth.dev/cmd/berth/internal/format"
)

func newVersion(g *globals) *cobra.Command {
	var out outputFlags
	c := &cobra.Command{
		Use:   "version",
		Short: "Show the client's and the node's versions",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			type side struct {
				Version  string `json:"version"`
				Revision string `json:"revision,omitempty"`
				Go       string `json:"go,omitempty"`
			}
			v := struct {
				Client side  `json:"client"`
				Server *side `json:"server,omitempty"`
			}{Client: side{Version: Version, Revision: Revision, Go: runtime.Version()}}
			client, ctx, err := g.connect(c.Context())
			if err == nil {
				defer client.Close()
				var resp, verr = client.VersionService().Version(ctx, &emptypb.Empty{})
				if verr == nil {
					v.Server = &side{Version: resp.Version, Revision: resp.Revision}
				}
				err = verr
			}
			if out.format == "json" {
				format.JSON(g.stdout, v)
			} else {
				fmt.Fprintf(g.stdout, "Client:\n  Version:  %s\n  Revision: %s\n  Go:       %s\n", v.Client.Version, v.Client.Revision, v.Client.Go)
				if v.Server != nil {
					fmt.Fprintf(g.stdout, "Server (%s):\n  Version:  %s\n  Revision: %s\n", g.address, v.Server.Version, v.Server.Revision)
				}
			}
			return err
		},
	}
	c.Flags().StringVar(&out.format, "format", "table", "table or json")
	return c
}

package cli

import (
	"github.com/spf13/cobra"
)

func newCompletion(root *cobra.Command) *cobra.Command {
	return &cobra.Command{
		Use:   "completion bash|zsh",
		Short: "Print a shell completion script",
		Long: `Print a completion script for bash or zsh.
  bash: source <(berth completion bash)   (or save it to /etc/bash_completion.d/berth)
  zsh:  berth completion zsh > "${fpath[1]}/_berth"`,
		ValidArgs: []string{"bash", "zsh"},
		Args:      cobra.MatchAll(cobra.ExactArgs(1), cobra.OnlyValidArgs),
		RunE: func(c *cobra.Command, args []string) error {
			if args[0] == "zsh" {
				return root.GenZshCompletion(c.OutOrStdout())
			}
			return root.GenBashCompletionV2(c.OutOrStdout(), true)
		},
	}
}

// completeContainers offers the namespace's container names (running ones
// only when running is set), for shell completion.
func completeContainers(g *globals, running bool) cobra.CompletionFunc {
	return func(c *cobra.Command, _ []string, _ string) ([]string, cobra.ShellCompDirective) {
		client, ctx, err := g.connect(c.Context())
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		defer client.Close()
		cs, err := client.Containers(ctx)
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		var names []string
		for _, ct := range cs {
			if !running || hasTask(ctx, ct) {
				names = append(names, ct.ID())
			}
		}
		return names, cobra.ShellCompDirectiveNoFileComp
	}
}

// completeImages offers the namespace's image names.
func completeImages(g *globals) cobra.CompletionFunc {
	return func(c *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
		client, ctx, err := g.connect(c.Context())
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		defer client.Close()
		imgs, err := client.ImageService().List(ctx)
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		var names []string
		for _, i := range imgs {
			names = append(names, i.Name)
		}
		return names, cobra.ShellCompDirectiveNoFileComp
	}
}

// firstArgOnly completes only the first argument (run's image, exec's
// container); what follows is a command line inside the container.
func firstArgOnly(f cobra.CompletionFunc) cobra.CompletionFunc {
	return func(c *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, cobra.ShellCompDirectiveDefault
		}
		return f(c, args, toComplete)
	}
}

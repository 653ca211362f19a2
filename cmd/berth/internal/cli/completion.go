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

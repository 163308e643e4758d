package main

import "github.com/spf13/cobra"

// newRootCmd builds the eventual command with its subcommands.
func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "eventual",
		Short: "Operate and measure eventual event stores",
		Long: "eventual is the operations CLI of the eventual event-sourcing toolkit.\n" +
			"Its commands act on the toolkit's event stores (SQLite, PostgreSQL, memory).",
		SilenceUsage: true, // usage is shown for bad flags and arguments only
		Args:         cobra.NoArgs,
	}
	root.AddCommand(newBenchCmd())
	return root
}

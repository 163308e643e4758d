// Command eventual is the operations CLI of the eventual event store.
//
//	eventual bench --backend sqlite,postgres --duration 5s --json bench.json
//
// Run `eventual help` for the commands.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/eventual-go/eventual/internal/bench"
)

func main() {
	if bench.IsConsumerChild() { // the other process of `eventual bench`
		os.Exit(bench.RunConsumerChild())
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		<-ctx.Done()
		stop() // a second Ctrl-C kills the process
	}()
	err := newRootCmd().ExecuteContext(ctx)
	stop()
	if err != nil {
		os.Exit(1) // cobra printed the error
	}
}

// Package saga is a durable orchestrator of sagas: a business process
// across modules or services (reserve stock → authorize payment → ship →
// confirm) that either completes, or undoes what it did, in reverse order,
// when a step fails.
//
//	def, err := saga.Define[Order]("fulfillment").
//		Step("reserve-stock").
//		Command(reserveCommand).                  // sent through the outbox
//		OnReply("inventory.reserved", nil).       // completes the step
//		OnFailure("inventory.out_of_stock", nil). // fails it: compensate the steps before
//		Compensate(releaseCommand).
//		OnCompensationReply("inventory.released", nil).
//		Timeout(10 * time.Second).Retry(3, nil).
//		Step("authorize-payment").
//		…
//		Build()
//	orch, err := saga.NewOrchestrator(ctx, store, def, ob)
//	go orch.Run(ctx)
//	err = orch.Subscribe(ctx, transport, 0) // replies
//	started, err := orch.Start(ctx, orderID, Order{…})
//
// Durable: an instance's state (step, attempt, data, status, timer) is a
// row written in the same transaction as the commands it sends (outbox)
// and the reply it consumed, and its history is an event stream
// (saga-<name>-<id>) appended in that transaction too, for audit and
// replay. A crash at any point resumes from the last commit: commands not
// yet relayed are relayed, replies that were lost are asked for again when
// the step's timer fires.
//
// Replies are matched to the command they answer by causation ID (set by
// transport.Reply); a late reply to an earlier attempt of the step in
// progress counts, a duplicate or a reply to a step that is over is
// ignored. Every attempt of a command has its own message ID (so brokers
// deliver it) and the same step key (StepKey): command handlers apply a
// command once per key and answer every attempt.
//
// A step that fails — a failure reply, an action error, or no reply after
// its attempts — is compensated together with the steps before it, last
// first; a step that got no reply may have taken effect, so it is
// compensated too. A compensation that keeps failing leaves the saga
// stuck, for a person: Repair retries, skips, compensates or aborts, and
// List, Counts and History show what is going on.
//
// Timers are durable: the instance's due time is a column, indexed, that
// the orchestrator's scheduler reads every poll interval, so timeouts and
// retries survive restarts. Starts, replies and timers from many
// instances share transactions, which is what makes thousands of sagas a
// second possible on SQLite's single writer.
//
// Package sagatest drives a definition in tests with fake replies and a
// fake clock.
package saga

package saga

// CountDecodesForTest counts the rows a cached load decodes, until the
// returned function is called.
func CountDecodesForTest(count func(n int)) (stop func()) {
	onStatesDecoded = count
	return func() { onStatesDecoded = nil }
}

// Tally is the retry tests' saga data, which implements eventual.Cloner.
type Tally = tally

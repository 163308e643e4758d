package saga

// CountDecodesForTest counts the rows a cached load decodes, until the
// returned function is called.
func CountDecodesForTest(count func(n int)) (stop func()) {
	onStatesDecoded = count
	return func() { onStatesDecoded = nil }
}

package postgres

// WithoutAppendLockForTest makes a broken store that takes positions
// without the append lock, like a plain sequence does: positions then no
// longer follow commit order. Only the test that checks that the
// conformance suite catches this uses it.
func WithoutAppendLockForTest(s *Store) { s.unordered = true }

package sqlite

import "testing"

func TestRebind(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"no placeholders", "SELECT 1", "SELECT 1"},
		{"in order", "SELECT * FROM t WHERE a = $1 AND b = $2", "SELECT * FROM t WHERE a = ?1 AND b = ?2"},
		{"out of order and repeated", "WHERE b = $2 AND a = $1 AND $2 = c", "WHERE b = ?2 AND a = ?1 AND ?2 = c"},
		{"two digits", "VALUES ($9, $10, $11)", "VALUES (?9, ?10, ?11)"},
		{"in a string", "SELECT '$1', $1", "SELECT '$1', ?1"},
		{"escaped quote in a string", "SELECT 'it''s $1', $2", "SELECT 'it''s $1', ?2"},
		{"in an identifier", `SELECT "$1" FROM [$2] WHERE x = $3`, `SELECT "$1" FROM [$2] WHERE x = ?3`},
		{"in comments", "SELECT $1 -- $2\n, $3 /* $4 */ , $5", "SELECT ?1 -- $2\n, ?3 /* $4 */ , ?5"},
		{"dollar without digit", "SELECT $a, $1", "SELECT $a, ?1"},
		{"unterminated string", "SELECT '$1", "SELECT '$1"},
		{"comment at the end", "SELECT $1 -- $2", "SELECT ?1 -- $2"},
		{"limit", "SELECT a FROM t WHERE a > $1 ORDER BY a LIMIT $2", "SELECT a FROM t WHERE a > ?1 ORDER BY a LIMIT +?2"},
		{"limit and offset", "SELECT a FROM t limit\n\t$1 offset $2", "SELECT a FROM t limit\n\t+?1 offset +?2"},
		{"limit in a subquery", "DELETE FROM t WHERE a IN (SELECT a FROM t WHERE b < $1 LIMIT $2)", "DELETE FROM t WHERE a IN (SELECT a FROM t WHERE b < ?1 LIMIT +?2)"},
		{"a column named like a keyword", "SELECT a FROM t WHERE my_limit = $1 AND xoffset > $2", "SELECT a FROM t WHERE my_limit = ?1 AND xoffset > ?2"},
		{"an expression after limit", "SELECT a FROM t LIMIT 2 * $1", "SELECT a FROM t LIMIT 2 * ?1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := rebind(tt.in); got != tt.want {
				t.Fatalf("rebind(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

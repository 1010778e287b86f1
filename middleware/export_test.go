package middleware

// Test seams.

// Implicit returns the implicit assertion m binds into its tokens, so
// tests can seal tokens by hand.
func (m *Manager) Implicit() []byte { return append([]byte(nil), m.implicit...) }

// Limit returns the longest token m accepts and seals.
func (m *Manager) Limit() int { return m.limit }

package middleware

import "slices"

// FlashMessage is a one-time message, such as "Saved.", queued by one
// request for a later one to show (the Rails and Flask "flash"). Category
// is the application's own label ("error", "info", ...), empty when none
// was given.
type FlashMessage struct {
	Category string `json:"category,omitempty"`
	Message  string `json:"message"`
}

// Flash queues msg, without a category, for a later request to show with
// [Session.Flashes]. It is FlashCategory("", msg).
func (s *Session) Flash(msg string) { s.FlashCategory("", msg) }

// FlashCategory queues msg under category for a later request to show
// with [Session.Flashes]. Messages wait in the session, in order, beside
// its values: they are not listed by [Session.Keys], [Session.Len] or
// [Session.Values], they keep a session with no values alive until shown,
// and they survive [Session.Clear] but not [Session.Destroy].
func (s *Session) FlashCategory(category, msg string) {
	s.mu.Lock()
	s.flashes = append(s.flashes, FlashMessage{Category: category, Message: msg})
	late := s.changed()
	s.mu.Unlock()
	if late {
		s.reportLate("Flash", "")
	}
}

// Flashes returns the queued messages, oldest first, and removes them, so
// each is shown once. Given categories, it returns and removes only the
// messages in one of them, leaving the others queued. It returns nil when
// none match.
func (s *Session) Flashes(categories ...string) []FlashMessage {
	s.mu.Lock()
	s.accessed = true
	var out, kept []FlashMessage
	for _, f := range s.flashes {
		if len(categories) == 0 || slices.Contains(categories, f.Category) {
			out = append(out, f)
		} else {
			kept = append(kept, f)
		}
	}
	late := false
	if len(out) > 0 {
		s.flashes = kept
		late = s.changed()
	}
	s.mu.Unlock()
	if late {
		s.reportLate("Flashes", "")
	}
	return out
}

package redis

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"satchel.dev/revoke"
)

// Defaults that a zero [Config] stands for.
const (
	// DefaultStream is the Redis key of the revocation stream.
	DefaultStream = "satchel:revocations"
	// DefaultStaleAfter is how long the set may go without a successful
	// read of the stream before [Store.Health] reports it stale.
	DefaultStaleAfter = 5 * time.Second
	// DefaultPublishTimeout bounds the wait for Redis when a sign-out is
	// made; past it the sign-out is queued and retried.
	DefaultPublishTimeout = time.Second
)

const (
	readCount  = 256                    // entries per XREAD
	readBlock  = 500 * time.Millisecond // XREAD BLOCK: bounds Close and staleness
	readGrace  = 3 * time.Second        // longest a read may take beyond readBlock
	backoffMin = 50 * time.Millisecond
	backoffMax = 2 * time.Second
	maxStream  = 256 // longest stream key accepted
)

// Config configures a [Store].
type Config struct {
	// Stream is the Redis key of the stream; empty means [DefaultStream].
	// Every server of one application must use the same key; two
	// applications must not share one.
	Stream string

	// StaleAfter is how long the set may go without confirming it is
	// current before [Store.Health] reports it stale and a warning is
	// logged. Zero means [DefaultStaleAfter].
	StaleAfter time.Duration

	// FailClosedAfter, when positive, makes [Store.Revoked] refuse every
	// session once the set has not been confirmed current for this long
	// (and before the first catch-up): while Redis is unreachable nobody
	// stays signed in, and a sign-out made elsewhere cannot be missed.
	// Zero (the default) keeps serving with the last known set, so that
	// an outage of Redis is not an outage of the site; a sign-out made on
	// another server during the outage is then not enforced here until
	// Redis returns. It must be at least StaleAfter.
	FailClosedAfter time.Duration

	// PublishTimeout bounds how long [Store.RevokeSession] and
	// [Store.RevokeSubject] wait for Redis; zero means
	// [DefaultPublishTimeout].
	PublishTimeout time.Duration

	// Logger receives reports: Redis unreachable and back, staleness,
	// queued sign-outs and refused stream entries. Nil means
	// [slog.Default]. No session id, subject or credential is logged.
	Logger *slog.Logger
}

// ErrStale is returned by [Store.Check] when the set has not been
// confirmed current within [Config.StaleAfter].
var ErrStale = errors.New("redis revocations: stale")

// Store keeps a [revoke.Set] in step with a Redis stream shared by every
// server of an application. Sign-outs made through it apply to the local
// Set at once and are appended to the stream; a background follower reads
// the stream from its last position (from the start on the first run,
// then after every reconnect, so nothing is missed) and applies every
// other server's sign-outs to the local Set. The request path,
// [Store.Revoked], reads only the local Set.
//
// Every method is safe for concurrent use. Close stops the background
// work.
type Store struct {
	client    goredis.UniversalClient
	set       *revoke.Set
	cfg       Config
	log       *slog.Logger
	retention time.Duration

	lastSync  atomic.Int64 // unix nanoseconds the set was last known current; 0: never
	ready     chan struct{}
	readyOnce sync.Once
	refused   atomic.Uint64
	applied   atomic.Uint64

	mu     sync.Mutex
	outbox []Entry
	wake   chan struct{}

	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// Format prints the Store as its stream key, whatever the verb: not the
// client (whose options may carry a password) nor the state the follower
// changes while fmt would read it.
func (s *Store) Format(f fmt.State, verb rune) {
	if s == nil {
		io.WriteString(f, "redis.Store(nil)")
		return
	}
	fmt.Fprintf(f, "redis.Store{stream=%q}", s.cfg.Stream)
}

// New returns a Store that follows cfg.Stream in client into set and
// starts following it. It does not wait for Redis: call [Store.Wait]
// before serving requests, so that a server starting while sign-outs are
// in force enforces them from its first request. set must be configured
// with the middleware's MaxAge and Leeway. The follower blocks in XREAD for
// half a second at a time, so the client's ReadTimeout must be longer
// (go-redis's default is); with ContextTimeoutEnabled the Store bounds
// its reads itself. It returns an error if client or set is nil, if
// client is a *redis.Client whose reads could hang or time out too soon,
// or if cfg is invalid.
func New(client goredis.UniversalClient, set *revoke.Set, cfg Config) (*Store, error) {
	if client == nil || set == nil {
		return nil, errors.New("redis revocations: nil client or set")
	}
	if cfg.Stream == "" {
		cfg.Stream = DefaultStream
	}
	if len(cfg.Stream) > maxStream {
		return nil, fmt.Errorf("redis revocations: stream key longer than %d bytes", maxStream)
	}
	if cfg.StaleAfter == 0 {
		cfg.StaleAfter = DefaultStaleAfter
	}
	if cfg.PublishTimeout == 0 {
		cfg.PublishTimeout = DefaultPublishTimeout
	}
	if cfg.StaleAfter < 0 || cfg.PublishTimeout < 0 || cfg.FailClosedAfter < 0 {
		return nil, errors.New("redis revocations: negative duration in Config")
	}
	if cfg.StaleAfter < 2*readBlock {
		return nil, fmt.Errorf("redis revocations: StaleAfter %v is below %v", cfg.StaleAfter, 2*readBlock)
	}
	if cfg.FailClosedAfter > 0 && cfg.FailClosedAfter < cfg.StaleAfter {
		return nil, fmt.Errorf("redis revocations: FailClosedAfter %v is below StaleAfter %v", cfg.FailClosedAfter, cfg.StaleAfter)
	}
	if c, ok := client.(*goredis.Client); ok {
		// A blocking read that nothing times out would hang the follower
		// for as long as a partition lasts, silently.
		o := c.Options()
		if !o.ContextTimeoutEnabled && (o.ReadTimeout <= 0 || o.ReadTimeout < readBlock+100*time.Millisecond) {
			return nil, fmt.Errorf("redis revocations: the client's ReadTimeout must be at least %v (or ContextTimeoutEnabled set)", readBlock+100*time.Millisecond)
		}
	}
	s := &Store{
		client:    client,
		set:       set,
		cfg:       cfg,
		log:       cfg.Logger,
		retention: Retention(set),
		ready:     make(chan struct{}),
		wake:      make(chan struct{}, 1),
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	s.wg.Add(2)
	go func() { defer s.wg.Done(); s.follow(ctx) }()
	go func() { defer s.wg.Done(); s.flush(ctx) }()
	return s, nil
}

// Retention returns how long stream entries are kept for a fleet whose Sets
// are configured like set: the longest an entry can matter (MaxAge plus
// twice the leeway) with a margin for clocks. Older entries are trimmed as
// new ones are added.
func Retention(set *revoke.Set) time.Duration {
	return set.Window() + revoke.MaxLeeway + time.Minute
}

// Close stops following the stream and retrying queued sign-outs, and
// waits for both to end (at most about half a second). Sign-outs still
// queued are logged as not published: they hold on this server only. It
// returns nil; closing twice is harmless.
func (s *Store) Close() error {
	s.cancel()
	s.wg.Wait()
	s.mu.Lock()
	n := len(s.outbox)
	s.mu.Unlock()
	if n > 0 {
		s.log.LogAttrs(context.Background(), slog.LevelError,
			"satchel: revocations closed with sign-outs never published; other servers do not know them",
			slog.Int("pending", n), slog.String("stream", s.cfg.Stream))
	}
	return nil
}

// Wait blocks until the Store has read the whole stream once, so that the
// local set holds every sign-out in force, or until ctx is done (its error
// is returned then).
func (s *Store) Wait(ctx context.Context) error {
	select {
	case <-s.ready:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Window returns how long the Store's set keeps a sign-out
// ([revoke.Set.Window]), so that the middleware can refuse a lifetime
// longer than the record of sign-outs.
func (s *Store) Window() time.Duration { return s.set.Window() }

// Revoked reports whether a session is revoked, from the local set only:
// no I/O. With [Config.FailClosedAfter] set, it reports every session
// revoked while the set is older than that bound. It is the middleware's
// Revocations.Revoked.
func (s *Store) Revoked(id, subject string, created time.Time) bool {
	if s.cfg.FailClosedAfter > 0 {
		last := s.lastSync.Load()
		if last == 0 || time.Now().UnixNano()-last > int64(s.cfg.FailClosedAfter) {
			return true
		}
	}
	return s.set.Revoked(id, subject, created)
}

// RevokeSession records the sign-out of session id (whose token expires at
// expires) in the local set at once and appends it to the stream for the
// other servers. If Redis does not answer within [Config.PublishTimeout]
// (or ctx ends first) the sign-out is queued, retried in the background
// until Redis takes it, logged, and counted in [Health.Pending]; it still
// returns nil, since the sign-out holds on this server and will reach the
// others. It returns an error wrapping [revoke.ErrInvalid] for an id the
// set or the stream cannot hold (empty, longer than [revoke.MaxIDLen], or
// with bytes other than printable ASCII except a comma).
func (s *Store) RevokeSession(ctx context.Context, id string, expires time.Time) error {
	if !validID(id) {
		return fmt.Errorf("%w: session id must be 1 to %d printable ASCII bytes", revoke.ErrInvalid, revoke.MaxIDLen)
	}
	if expires.IsZero() {
		expires = time.Now().Add(s.set.Window())
	}
	e := Entry{ID: id, Expires: expires}
	if err := e.apply(s.set); err != nil {
		return err
	}
	s.publish(ctx, e)
	return nil
}

// RevokeSubject signs subject out everywhere as of at, keeping the listed
// session ids (see [revoke.Set.RevokeSubject]): in the local set at once,
// and through the stream on every other server, queued as
// [Store.RevokeSession] describes when Redis is away. It returns an error
// wrapping [revoke.ErrInvalid] for arguments the set refuses.
func (s *Store) RevokeSubject(ctx context.Context, subject string, at time.Time, keep ...string) error {
	for _, id := range keep {
		if !validID(id) {
			return fmt.Errorf("%w: kept session id must be 1 to %d printable ASCII bytes", revoke.ErrInvalid, revoke.MaxIDLen)
		}
	}
	e := Entry{Subject: subject, At: at, Keep: keep}
	if err := e.apply(s.set); err != nil {
		return err
	}
	s.publish(ctx, e)
	return nil
}

func (s *Store) publish(ctx context.Context, e Entry) {
	// While sign-outs wait in the queue, Redis is known to be away: queue
	// this one too rather than make its request wait PublishTimeout.
	s.mu.Lock()
	queued := len(s.outbox) > 0
	if queued {
		s.outbox = append(s.outbox, e)
	}
	s.mu.Unlock()
	if queued {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.PublishTimeout)
	defer cancel()
	err := s.add(ctx, e)
	if err == nil {
		return
	}
	s.mu.Lock()
	s.outbox = append(s.outbox, e)
	n := len(s.outbox)
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
	s.log.LogAttrs(ctx, slog.LevelWarn,
		"satchel: sign-out queued: Redis did not take it; it holds on this server and is retried for the others",
		slog.String("error", err.Error()), slog.Int("pending", n), slog.String("stream", s.cfg.Stream))
}

// add appends e to the stream, trimming entries too old to matter.
func (s *Store) add(ctx context.Context, e Entry) error {
	minID := time.Now().Add(-s.retention).UnixMilli()
	return s.client.XAdd(ctx, &goredis.XAddArgs{
		Stream: s.cfg.Stream,
		MinID:  strconv.FormatInt(minID, 10),
		Approx: true,
		Values: e.args(),
	}).Err()
}

// flush retries queued sign-outs, oldest first, until Redis takes them.
func (s *Store) flush(ctx context.Context) {
	var bo backoff
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.wake:
		}
		for ctx.Err() == nil {
			s.mu.Lock()
			if len(s.outbox) == 0 {
				s.mu.Unlock()
				break
			}
			e := s.outbox[0] // only this goroutine removes entries
			s.mu.Unlock()
			actx, cancel := context.WithTimeout(ctx, s.cfg.PublishTimeout)
			err := s.add(actx, e)
			cancel()
			if err != nil {
				sleep(ctx, bo.next())
				continue
			}
			bo.reset()
			s.mu.Lock()
			s.outbox[0] = Entry{}
			s.outbox = s.outbox[1:]
			n := len(s.outbox)
			s.mu.Unlock()
			if n == 0 {
				s.log.LogAttrs(ctx, slog.LevelInfo, "satchel: queued sign-outs published",
					slog.String("stream", s.cfg.Stream))
			}
		}
	}
}

// follow reads the stream into the set until ctx ends.
func (s *Store) follow(ctx context.Context) {
	cursor := "0"
	check := false // after an error: did the stream go back or away?
	down := false
	staleLogged := false
	var bo backoff
	for ctx.Err() == nil {
		start := time.Now()
		// However the client is configured, a read never hangs past this:
		// a partition that drops packets shows as an error and staleness.
		rctx, cancel := context.WithTimeout(ctx, readBlock+readGrace)
		var err error
		if check {
			err = s.checkCursor(rctx, &cursor)
		}
		var batch []message
		if err == nil {
			batch, err = s.read(rctx, cursor)
		}
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			check = true
			if !down {
				down = true
				s.log.LogAttrs(ctx, slog.LevelWarn,
					"satchel: revocation stream unreachable; serving the last known set",
					slog.String("error", err.Error()), slog.String("stream", s.cfg.Stream))
			}
			if age := s.staleness(time.Now()); !staleLogged && age > s.cfg.StaleAfter {
				staleLogged = true
				s.log.LogAttrs(ctx, slog.LevelError, "satchel: revocations stale",
					slog.Duration("staleness", age.Truncate(time.Millisecond)),
					slog.Bool("fail_closed", s.cfg.FailClosedAfter > 0),
					slog.String("stream", s.cfg.Stream))
			}
			sleep(ctx, bo.next())
			continue
		}
		for _, m := range batch {
			s.apply(ctx, m)
			cursor = m.id
		}
		if len(batch) < readCount {
			// Caught up with everything the stream held when the read began.
			s.lastSync.Store(start.UnixNano())
			s.readyOnce.Do(func() { close(s.ready) })
			check = false
			bo.reset()
			if down {
				down, staleLogged = false, false
				s.log.LogAttrs(ctx, slog.LevelInfo, "satchel: revocation stream reachable again; caught up",
					slog.String("stream", s.cfg.Stream))
			}
		}
	}
}

func (s *Store) staleness(now time.Time) time.Duration {
	last := s.lastSync.Load()
	if last == 0 {
		return time.Duration(1<<63 - 1)
	}
	return now.Sub(time.Unix(0, last))
}

func (s *Store) apply(ctx context.Context, m message) {
	err := m.err
	if err == nil {
		var e Entry
		if e, err = parseEntry(m.fields); err == nil {
			err = e.apply(s.set)
		}
	}
	if err == nil {
		s.applied.Add(1)
		return
	}
	n := s.refused.Add(1)
	// A flood of bad entries logs its first ten lines, then every
	// thousandth, so the log stays readable and the follower fast.
	if n <= 10 || n%1000 == 0 {
		s.log.LogAttrs(ctx, slog.LevelWarn, "satchel: revocation stream entry refused",
			slog.String("entry", m.id), slog.String("reason", err.Error()),
			slog.Uint64("refused_total", n), slog.String("stream", s.cfg.Stream))
	}
}

// message is one stream entry as read, before parsing its fields.
type message struct {
	id     string
	fields []any
	err    error // the entry's shape was wrong
}

// read returns the entries after cursor, blocking up to readBlock for new
// ones. A reply of the wrong shape is an error; an entry of the wrong shape
// is a message with err set, so that it is refused and skipped.
func (s *Store) read(ctx context.Context, cursor string) ([]message, error) {
	res, err := s.client.Do(ctx, "XREAD", "COUNT", readCount, "BLOCK", readBlock.Milliseconds(),
		"STREAMS", s.cfg.Stream, cursor).Result()
	if errors.Is(err, goredis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var entries any
	switch r := res.(type) {
	case []any: // RESP2: [[stream, entries]]
		if len(r) != 1 {
			return nil, errors.New("unexpected XREAD reply")
		}
		pair, ok := r[0].([]any)
		if !ok || len(pair) != 2 {
			return nil, errors.New("unexpected XREAD reply")
		}
		entries = pair[1]
	case map[any]any: // RESP3: {stream: entries}
		if len(r) != 1 {
			return nil, errors.New("unexpected XREAD reply")
		}
		for _, v := range r {
			entries = v
		}
	default:
		return nil, errors.New("unexpected XREAD reply")
	}
	list, ok := entries.([]any)
	if !ok || len(list) > readCount {
		return nil, errors.New("unexpected XREAD reply")
	}
	out := make([]message, 0, len(list))
	last := cursor
	for _, item := range list {
		pair, ok := item.([]any)
		if !ok || len(pair) != 2 {
			return nil, errors.New("unexpected XREAD entry")
		}
		id, ok := pair[0].(string)
		if !ok || !validStreamID(id) || compareIDs(id, last) <= 0 {
			return nil, errors.New("unexpected XREAD entry id")
		}
		last = id
		m := message{id: id}
		if m.fields, ok = pair[1].([]any); !ok {
			m.err = fmt.Errorf("%w: fields are not a list", errEntry)
		}
		out = append(out, m)
	}
	return out, nil
}

// checkCursor moves the cursor back to the start if the stream is gone or
// now ends before it: Redis lost data (restarted without persistence, or
// was replaced). Re-reading is harmless, since applying an entry twice
// changes nothing, and it is the only way to see the entries added since.
func (s *Store) checkCursor(ctx context.Context, cursor *string) error {
	if *cursor == "0" {
		return nil
	}
	info, err := s.client.XInfoStream(ctx, s.cfg.Stream).Result()
	gone := err != nil && strings.Contains(err.Error(), "no such key")
	if err != nil && !gone {
		return err
	}
	if gone || (validStreamID(info.LastGeneratedID) && compareIDs(info.LastGeneratedID, *cursor) < 0) {
		s.log.LogAttrs(ctx, slog.LevelError,
			"satchel: revocation stream went back (Redis lost data); re-reading it from the start; sign-outs it lost hold only on the servers that knew them",
			slog.String("stream", s.cfg.Stream))
		*cursor = "0"
	}
	return nil
}

// validStreamID reports whether id has the form "<ms>-<seq>" of decimal
// uint64s.
func validStreamID(id string) bool {
	ms, seq, ok := strings.Cut(id, "-")
	if !ok {
		return false
	}
	_, err1 := strconv.ParseUint(ms, 10, 64)
	_, err2 := strconv.ParseUint(seq, 10, 64)
	return err1 == nil && err2 == nil
}

// compareIDs orders two stream ids ("0" counts as "0-0").
func compareIDs(a, b string) int {
	am, as := splitID(a)
	bm, bs := splitID(b)
	switch {
	case am != bm:
		return cmpU(am, bm)
	default:
		return cmpU(as, bs)
	}
}

func splitID(id string) (uint64, uint64) {
	ms, seq, _ := strings.Cut(id, "-")
	m, _ := strconv.ParseUint(ms, 10, 64)
	q, _ := strconv.ParseUint(seq, 10, 64)
	return m, q
}

func cmpU(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Health is a snapshot of a Store's state, for health checks and metrics.
type Health struct {
	// Ready reports whether the whole stream has been read at least once.
	Ready bool
	// Synced is when the set was last known to hold every sign-out in the
	// stream; the zero time if never.
	Synced time.Time
	// Staleness is the time since Synced (the maximum duration if never).
	Staleness time.Duration
	// Stale reports Staleness above [Config.StaleAfter].
	Stale bool
	// FailingClosed reports that [Store.Revoked] refuses every session
	// because of staleness ([Config.FailClosedAfter]).
	FailingClosed bool
	// Pending counts sign-outs made here that Redis has not taken yet.
	Pending int
	// Applied and Refused count the stream entries read and applied, or
	// refused as malformed, since New.
	Applied, Refused uint64
	// Set counts the entries of the local set.
	Set revoke.Stats
}

// Health returns the Store's current state. It is cheap enough for every
// health probe (it counts the set's entries under each part's read lock).
func (s *Store) Health() Health {
	now := time.Now()
	h := Health{Staleness: s.staleness(now)}
	if last := s.lastSync.Load(); last != 0 {
		h.Synced = time.Unix(0, last)
	}
	select {
	case <-s.ready:
		h.Ready = true
	default:
	}
	h.Stale = h.Staleness > s.cfg.StaleAfter
	h.FailingClosed = s.cfg.FailClosedAfter > 0 && h.Staleness > s.cfg.FailClosedAfter
	s.mu.Lock()
	h.Pending = len(s.outbox)
	s.mu.Unlock()
	h.Applied, h.Refused = s.applied.Load(), s.refused.Load()
	h.Set = s.set.Len()
	return h
}

// Check returns nil when the Store is ready and current, or an error
// wrapping [ErrStale] that says how stale the set is, for a readiness
// probe.
func (s *Store) Check() error {
	h := s.Health()
	switch {
	case !h.Ready:
		return fmt.Errorf("%w: the stream has not been read yet", ErrStale)
	case h.Stale:
		return fmt.Errorf("%w: last current %v ago", ErrStale, h.Staleness.Truncate(time.Millisecond))
	}
	return nil
}

// backoff yields growing, jittered waits between backoffMin and backoffMax.
type backoff struct{ d time.Duration }

func (b *backoff) next() time.Duration {
	b.d = min(max(2*b.d, backoffMin), backoffMax)
	return b.d/2 + rand.N(b.d/2+1)
}

func (b *backoff) reset() { b.d = 0 }

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

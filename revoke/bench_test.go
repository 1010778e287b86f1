package revoke_test

import (
	"runtime"
	"sync"
	"testing"
	"time"

	"satchel.dev/revoke"
)

const liveEntries = 1_000_000

var (
	bigOnce    sync.Once
	bigSet     *revoke.Set
	bigIDs     []string // revoked ids, a sample
	bigPerItem float64  // heap bytes per session entry
	bigPerMark float64  // heap bytes per subject mark (subject strings excluded)
)

// big returns a Set holding a million revoked session ids and, besides,
// a hundred thousand subject marks, with the heap bytes each id entry and
// each mark costs.
func big(b *testing.B) *revoke.Set {
	bigOnce.Do(func() {
		s, _ := newSet(b, revoke.Config{})
		ids := make([]string, liveEntries)
		for i := range ids {
			ids[i] = newID()
		}
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		for _, id := range ids {
			if err := s.RevokeSession(ctx, id, t0.Add(24*time.Hour)); err != nil {
				b.Fatal(err)
			}
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		bigPerItem = float64(after.HeapAlloc-before.HeapAlloc) / liveEntries
		subjects := make([]string, 100_000)
		for i := range subjects {
			subjects[i] = "user-" + itoa(i) // 6 to 10 bytes
		}
		runtime.GC()
		runtime.ReadMemStats(&before)
		for _, sub := range subjects {
			s.RevokeSubject(ctx, sub, t0)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		bigPerMark = float64(after.HeapAlloc-before.HeapAlloc) / float64(len(subjects))
		bigSet, bigIDs = s, ids[:1024]
	})
	return bigSet
}

func itoa(i int) string {
	return string(appendInt(nil, i))
}

func appendInt(b []byte, i int) []byte {
	if i >= 10 {
		b = appendInt(b, i/10)
	}
	return append(b, byte('0'+i%10))
}

// BenchmarkRevoked measures the request-path check against a Set holding a
// million live revocations:
//
//	case=miss       a session that was not revoked, no subject
//	case=hit        a revoked session id
//	case=subject    a session that was not revoked, whose subject has a mark
//	                it postdates (the common case with sign-out everywhere)
//	case=parallel   case=subject from GOMAXPROCS goroutines at once (ns/op is
//	                wall time per check across them all)
//
// B/entry is the heap the million id entries take, per entry; B/mark the
// heap per subject mark, beyond the subject string the caller allocated.
func BenchmarkRevoked(b *testing.B) {
	s := big(b)
	misses := make([]string, 1024)
	for i := range misses {
		misses[i] = newID()
	}
	later := t0.Add(time.Second)
	subjects := make([]string, 1024)
	for i := range subjects {
		subjects[i] = "user-" + itoa(i*7)
	}
	report := func(b *testing.B) {
		b.ReportAllocs()
		b.Cleanup(func() {
			b.ReportMetric(bigPerItem, "B/entry")
			b.ReportMetric(bigPerMark, "B/mark")
		})
	}
	b.Run("case=miss", func(b *testing.B) {
		report(b)
		i := 0
		for b.Loop() {
			if s.Revoked(misses[i&1023], "", later) {
				b.Fatal("miss revoked")
			}
			i++
		}
	})
	b.Run("case=hit", func(b *testing.B) {
		report(b)
		i := 0
		for b.Loop() {
			if !s.Revoked(bigIDs[i&1023], "", later) {
				b.Fatal("hit not revoked")
			}
			i++
		}
	})
	b.Run("case=subject", func(b *testing.B) {
		report(b)
		i := 0
		for b.Loop() {
			if s.Revoked(misses[i&1023], subjects[i&1023], later) {
				b.Fatal("later session revoked")
			}
			i++
		}
	})
	b.Run("case=parallel", func(b *testing.B) {
		report(b)
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				if s.Revoked(misses[i&1023], subjects[i&1023], later) {
					b.Fatal("later session revoked")
				}
				i++
			}
		})
	})
}

// BenchmarkRevokeSession measures recording a sign-out into a Set that
// already holds a million.
func BenchmarkRevokeSession(b *testing.B) {
	s := big(b)
	ids := make([]string, 4096)
	for i := range ids {
		ids[i] = newID()
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		s.RevokeSession(ctx, ids[i&4095], t0.Add(time.Hour))
		i++
	}
}

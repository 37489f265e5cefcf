package httpguard

import (
	"fmt"
	"net"
	"net/http"
	"sync"
)

// Limit names a bound on requests running at once, for the refusal past it: what is counted
// ("SSE sessions") and the flag that sets it.
type Limit struct {
	Max        int
	What, Flag string
}

// LimitConcurrent lets at most total.Max requests run next at once, and at most
// perAddress.Max from one remote IP address: such as the event streams of SSE sessions, which
// last as long as their clients stay, so that one client cannot take every slot. A request
// past either is answered at once with 503 Service Unavailable and Retry-After, naming the
// limit and its flag.
func LimitConcurrent(next http.Handler, total, perAddress Limit) http.Handler {
	var mu sync.Mutex
	running := 0
	byAddress := map[string]int{}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		addr, _, err := net.SplitHostPort(r.RemoteAddr)
		if err != nil {
			addr = r.RemoteAddr
		}
		mu.Lock()
		var full *Limit
		switch {
		case running >= total.Max:
			full = &total
		case byAddress[addr] >= perAddress.Max:
			full = &perAddress
		default:
			running++
			byAddress[addr]++
		}
		mu.Unlock()
		if full != nil {
			w.Header().Set("Retry-After", "5")
			refuse(w, r, http.StatusServiceUnavailable, fmt.Sprintf(
				"Service Unavailable: %d %s are open, the limit (%s); retry when one has closed", full.Max, full.What, full.Flag))
			return
		}
		defer func() {
			mu.Lock()
			running--
			if byAddress[addr]--; byAddress[addr] == 0 {
				delete(byAddress, addr)
			}
			mu.Unlock()
		}()
		next.ServeHTTP(w, r)
	})
}

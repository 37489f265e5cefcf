package httpguard

import (
	"fmt"
	"net/http"
)

// LimitConcurrent lets at most max requests run next at once, such as the event streams of
// SSE sessions, which last as long as their clients stay. A request past the limit is answered
// at once with 503 Service Unavailable and Retry-After, naming what and flag, the setting that
// raises the limit.
func LimitConcurrent(next http.Handler, max int, what, flag string) http.Handler {
	slots := make(chan struct{}, max)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case slots <- struct{}{}:
		default:
			w.Header().Set("Retry-After", "5")
			refuse(w, r, http.StatusServiceUnavailable, fmt.Sprintf(
				"Service Unavailable: %d %s are open, the limit (%s); retry when one has closed", max, what, flag))
			return
		}
		defer func() { <-slots }()
		next.ServeHTTP(w, r)
	})
}

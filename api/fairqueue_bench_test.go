package api

import (
	"fmt"
	"testing"
)

// BenchmarkFairQueue measures one request's way through a fair queue (ahead, push, pop) with
// 1,024 requests waiting, from one caller and spread over many: the cost of taking turns.
func BenchmarkFairQueue(b *testing.B) {
	const waiting = 1024
	for _, callers := range []int{1, 16, 256, 1024} {
		b.Run(fmt.Sprint("callers=", callers), func(b *testing.B) {
			var q fairQueue
			names := make([]string, callers)
			for i := range names {
				names[i] = fmt.Sprint("address 10.0.0.", i)
			}
			for i := range waiting {
				q.push(&rateLimitWaiter{caller: names[i%callers]})
			}
			i := 0
			for b.Loop() {
				w := &rateLimitWaiter{caller: names[i%callers]}
				_ = q.ahead(w.caller)
				q.push(w)
				q.pop()
				i++
			}
		})
	}
}

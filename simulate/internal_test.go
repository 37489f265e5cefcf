package simulate

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
)

func TestRememberedTasksStayBounded(t *testing.T) {
	const maxTasks, ids = 100, 1000
	h := NewHandler(Options{MaxTasks: maxTasks}).(*handler)
	var wg sync.WaitGroup
	for i := range ids {
		wg.Go(func() {
			req := httptest.NewRequest(http.MethodGet, fmt.Sprintf("/task/sim-slow-%d", i), nil)
			req.Header.Set("Authorization", "Bearer x")
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK {
				t.Errorf("GET %s = %d, want 200", req.URL.Path, rec.Code)
			}
		})
	}
	wg.Wait()
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.tasks) != maxTasks || h.order.Len() != maxTasks {
		t.Errorf("after %d ids: %d remembered in the map, %d in the order; want %d in both", ids, len(h.tasks), h.order.Len(), maxTasks)
	}
	for e := h.order.Front(); e != nil; e = e.Next() {
		if h.tasks[e.Value.(*task).id] != e {
			t.Errorf("map and order disagree about %q", e.Value.(*task).id)
		}
	}
}

package tools_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if any goroutine outlives the tests: poll loops of finished,
// cancelled or abandoned waits must all end.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

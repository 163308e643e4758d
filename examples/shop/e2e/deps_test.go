package e2e

// The tests run the binary they build, not these packages; importing them
// makes go test's cache key include them, so a change to any module runs
// the end-to-end tests again.
import (
	_ "github.com/eventual-go/eventual/examples/shop/catalog"
	_ "github.com/eventual-go/eventual/examples/shop/customers"
	_ "github.com/eventual-go/eventual/examples/shop/fulfillment"
	_ "github.com/eventual-go/eventual/examples/shop/internal/loadgen"
	_ "github.com/eventual-go/eventual/examples/shop/inventory"
	_ "github.com/eventual-go/eventual/examples/shop/notifications"
	_ "github.com/eventual-go/eventual/examples/shop/ordering"
	_ "github.com/eventual-go/eventual/examples/shop/payments"
	_ "github.com/eventual-go/eventual/examples/shop/platform"
	_ "github.com/eventual-go/eventual/examples/shop/reporting"
	_ "github.com/eventual-go/eventual/examples/shop/shipping"
)

package platform_test

import (
	"errors"
	"testing"

	"github.com/eventual-go/eventual/examples/shop/platform"
)

func TestConfigSync(t *testing.T) {
	t.Setenv("SHOP_SQLITE_SYNC", "")
	c, err := platform.ConfigFromEnv()
	if err != nil || c.Sync != "full" {
		t.Errorf("default sync %q, %v; want full", c.Sync, err)
	}
	t.Setenv("SHOP_SQLITE_SYNC", "normal")
	if c, err := platform.ConfigFromEnv(); err != nil || c.Sync != "normal" {
		t.Errorf("sync %q, %v; want normal", c.Sync, err)
	}
	t.Setenv("SHOP_SQLITE_SYNC", "sometimes")
	if _, err := platform.ConfigFromEnv(); !errors.Is(err, platform.ErrInvalidConfig) {
		t.Errorf("sync sometimes: %v, want ErrInvalidConfig", err)
	}
}

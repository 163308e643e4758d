package platform

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"
)

// ErrInvalidConfig is matched by the errors of a bad configuration.
var ErrInvalidConfig = errors.New("shop: invalid configuration")

// Config is how the shop runs; ConfigFromEnv reads it from the
// environment.
type Config struct {
	// DataDir holds one SQLite file per module (SHOP_DATA_DIR, default
	// ./data).
	DataDir string
	// Sync is how the SQLite files commit (SHOP_SQLITE_SYNC): "full", the
	// default, flushes the log to the disk at every commit, so that what
	// the API acknowledged survives a power cut; "normal" flushes at
	// checkpoints only: a commit survives the process's crash (kill -9),
	// not the machine's. Every hop of an order waits for a commit, so
	// "normal" cuts its latency several times (README: the shop under
	// load).
	Sync string
	// HTTPAddr is where the API listens (SHOP_HTTP_ADDR, default :8080;
	// ":0" picks a free port).
	HTTPAddr string
	// PostgresDSN, when set, keeps each module's data in its own schema
	// of that database instead of SQLite files (SHOP_POSTGRES_DSN).
	PostgresDSN string
	// NATSURL, when set, connects the modules through NATS JetStream
	// instead of in-process (SHOP_NATS_URL).
	NATSURL string
	// Modules lists the modules to run (SHOP_MODULES, comma-separated;
	// empty: all).
	Modules []string
	// LogLevel is debug, info, warn or error (SHOP_LOG_LEVEL, default info).
	LogLevel string
	// ShutdownTimeout bounds a graceful shutdown (SHOP_SHUTDOWN_TIMEOUT,
	// default 15s).
	ShutdownTimeout time.Duration
}

// DefaultConfig is the configuration without any environment.
func DefaultConfig() Config {
	return Config{DataDir: "data", Sync: "full", HTTPAddr: ":8080", LogLevel: "info", ShutdownTimeout: 15 * time.Second}
}

// ConfigFromEnv reads the configuration from SHOP_* environment variables
// over the defaults. Errors: ErrInvalidConfig.
func ConfigFromEnv() (Config, error) {
	c := DefaultConfig()
	if v := os.Getenv("SHOP_DATA_DIR"); v != "" {
		c.DataDir = v
	}
	if v := os.Getenv("SHOP_SQLITE_SYNC"); v != "" {
		c.Sync = v
	}
	if v := os.Getenv("SHOP_HTTP_ADDR"); v != "" {
		c.HTTPAddr = v
	}
	c.PostgresDSN = os.Getenv("SHOP_POSTGRES_DSN")
	c.NATSURL = os.Getenv("SHOP_NATS_URL")
	if v := os.Getenv("SHOP_MODULES"); v != "" {
		for _, m := range strings.Split(v, ",") {
			if m = strings.TrimSpace(m); m != "" {
				c.Modules = append(c.Modules, m)
			}
		}
	}
	if v := os.Getenv("SHOP_LOG_LEVEL"); v != "" {
		c.LogLevel = v
	}
	if v := os.Getenv("SHOP_SHUTDOWN_TIMEOUT"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			return c, fmt.Errorf("%w: SHOP_SHUTDOWN_TIMEOUT: %w", ErrInvalidConfig, err)
		}
		c.ShutdownTimeout = d
	}
	return c, c.Validate()
}

// Validate checks c. Errors: ErrInvalidConfig.
func (c Config) Validate() error {
	switch {
	case c.DataDir == "" && c.PostgresDSN == "":
		return fmt.Errorf("%w: no data directory and no PostgreSQL DSN", ErrInvalidConfig)
	case c.HTTPAddr == "":
		return fmt.Errorf("%w: no HTTP address", ErrInvalidConfig)
	case c.ShutdownTimeout <= 0:
		return fmt.Errorf("%w: shutdown timeout %v", ErrInvalidConfig, c.ShutdownTimeout)
	case c.Sync != "full" && c.Sync != "normal":
		return fmt.Errorf("%w: SQLite sync %q (want full or normal)", ErrInvalidConfig, c.Sync)
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		return fmt.Errorf("%w: log level %q (want debug, info, warn or error)", ErrInvalidConfig, c.LogLevel)
	}
	return nil
}

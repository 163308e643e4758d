package app

import (
	"context"
	"database/sql"
	"errors"
	"strconv"

	"github.com/eventual-go/eventual"
)

// availableSetting is the row of shipping_settings that switches shipping
// on ("true", or no row) and off ("false").
const availableSetting = "available"

// availableTx reads the switch in tx: a command sees the switch as it is
// when it is handled, with no cache to go stale.
func availableTx(ctx context.Context, tx eventual.Tx) (bool, error) {
	return scanAvailable(tx.QueryRow(ctx, "SELECT value FROM shipping_settings WHERE name = $1", availableSetting))
}

func scanAvailable(row eventual.Row) (bool, error) {
	var v string
	err := row.Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	return v != "false", nil
}

// Available tells whether shipping is switched on.
func (a *App) Available(ctx context.Context) (bool, error) {
	return scanAvailable(a.store.QueryRow(ctx, "SELECT value FROM shipping_settings WHERE name = $1", availableSetting))
}

// SetAvailable switches shipping on or off: CreateShipment commands
// handled from now on see it.
func (a *App) SetAvailable(ctx context.Context, on bool) error {
	return a.store.InTx(ctx, func(tx eventual.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO shipping_settings (name, value) VALUES ($1, $2)
			ON CONFLICT (name) DO UPDATE SET value = excluded.value`, availableSetting, strconv.FormatBool(on))
		return err
	})
}

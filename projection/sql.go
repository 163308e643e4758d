package projection

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"time"

	"github.com/eventual-go/eventual"
	"github.com/eventual-go/eventual/internal/component"
)

//go:embed migrations/*.sql
var migrations embed.FS

// migrate creates the runner's table.
func migrate(ctx context.Context, store eventual.TxStore) error {
	_, err := component.Migrate(ctx, store, "projection", migrations)
	return err
}

// row is a projection's row in eventual_projections.
type row struct {
	Name              string
	Version           int
	Generation        int
	Checkpoint        uint64
	State             State
	FailedPosition    uint64
	LastError         string
	RebuildGeneration int
	RebuildVersion    int
	RebuildCheckpoint uint64
	UpdatedAt         time.Time
}

const rowColumns = `name, version, generation, checkpoint, state, failed_position, last_error,
	rebuild_generation, rebuild_version, rebuild_checkpoint, updated_at`

func scanRow(r eventual.Row) (row, error) {
	var x row
	var cp, failed, rcp, updated int64
	var state string
	err := r.Scan(&x.Name, &x.Version, &x.Generation, &cp, &state, &failed, &x.LastError,
		&x.RebuildGeneration, &x.RebuildVersion, &rcp, &updated)
	x.Checkpoint, x.FailedPosition, x.RebuildCheckpoint = uint64(cp), uint64(failed), uint64(rcp)
	x.State = State(state)
	x.UpdatedAt = time.UnixMicro(updated).UTC()
	return x, err
}

// loadRow reads a projection's row; found is false when it has none.
func loadRow(ctx context.Context, tx eventual.Tx, name string) (r row, found bool, err error) {
	r, err = scanRow(tx.QueryRow(ctx, "SELECT "+rowColumns+" FROM eventual_projections WHERE name = $1", name))
	if errors.Is(err, sql.ErrNoRows) {
		return r, false, nil
	}
	return r, err == nil, err
}

func now() int64 { return time.Now().UnixMicro() }

// errMoved means the row's checkpoint is not the one this runner wrote:
// another runner is running the same projection.
var errMoved = errors.New("projection: checkpoint moved by another runner")

// advance writes the checkpoint of the active generation, if it still is
// from (compare-and-set: two runners never apply one batch twice).
func advance(ctx context.Context, tx eventual.Tx, name string, generation int, from, to uint64) error {
	n, err := tx.Exec(ctx, `UPDATE eventual_projections SET checkpoint = $1, updated_at = $2
		WHERE name = $3 AND generation = $4 AND checkpoint = $5`, int64(to), now(), name, generation, int64(from))
	if err != nil {
		return err
	}
	if n != 1 {
		return errMoved
	}
	return nil
}

// setState writes the state, failed position and last error.
func setState(ctx context.Context, tx eventual.Tx, name string, state State, failed uint64, lastErr string) error {
	_, err := tx.Exec(ctx, `UPDATE eventual_projections SET state = $1, failed_position = $2, last_error = $3, updated_at = $4
		WHERE name = $5`, string(state), int64(failed), lastErr, now(), name)
	return err
}

// createGeneration runs Setup for a generation, after dropping what an
// abandoned attempt may have left.
func createGeneration(ctx context.Context, tx eventual.Tx, p *Projection, generation int) error {
	for _, t := range p.Tables {
		if _, err := tx.Exec(ctx, "DROP TABLE IF EXISTS "+physical(t, generation)); err != nil {
			return err
		}
	}
	if p.Setup == nil {
		return nil
	}
	if err := p.Setup(ctx, tx, tablesOf(p, generation)); err != nil {
		return fmt.Errorf("projection %s: set up generation %d: %w", p.Name, generation, err)
	}
	return nil
}

// dropGeneration drops a generation's tables.
func dropGeneration(ctx context.Context, tx eventual.Tx, p *Projection, generation int) error {
	for _, t := range p.Tables {
		if _, err := tx.Exec(ctx, "DROP TABLE IF EXISTS "+physical(t, generation)); err != nil {
			return err
		}
	}
	return nil
}

// pointViews makes each table's view read generation's table.
func pointViews(ctx context.Context, tx eventual.Tx, p *Projection, generation int) error {
	for _, t := range p.Tables {
		if _, err := tx.Exec(ctx, "DROP VIEW IF EXISTS "+t); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "CREATE VIEW "+t+" AS SELECT * FROM "+physical(t, generation)); err != nil {
			return fmt.Errorf("projection %s: create view %s: %w", p.Name, t, err)
		}
	}
	return nil
}

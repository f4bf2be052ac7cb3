package views

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Ensure makes sure the view exists: when its read alias points nowhere it
// creates generation 1 (for event views, the current month's index) and
// the alias. It returns the current generation. Replicas may call it
// concurrently: they agree on the names.
func Ensure(ctx context.Context, s Store, v *View) (int, error) {
	gen, err := CurrentGeneration(ctx, s, v)
	if err == nil || !errors.Is(err, ErrNotFound) {
		return gen, err
	}
	idx := v.IndexName(1, time.Now().UTC().Format("2006.01"))
	if err := s.CreateIndex(ctx, idx, v.Mapping); err != nil && !errors.Is(err, ErrIndexExists) {
		return 0, fmt.Errorf("create view %s: %w", v.Name, err)
	}
	act := AliasAction{Kind: AddAlias, Index: idx, Alias: v.Name, IsWriteIndex: v.Source == FromState}
	if err := s.UpdateAliases(ctx, []AliasAction{act}); err != nil {
		return 0, fmt.Errorf("create alias %s: %w", v.Name, err)
	}
	return 1, nil
}

// CurrentGeneration returns the generation the view's read alias points
// to; an error wrapping ErrNotFound when the view does not exist yet.
func CurrentGeneration(ctx context.Context, s Store, v *View) (int, error) {
	indices, _, err := s.Alias(ctx, v.Name)
	if err != nil {
		return 0, fmt.Errorf("read alias %s: %w", v.Name, err)
	}
	gen := 0
	for _, idx := range indices {
		if g, ok := v.Generation(idx); ok && g > gen {
			gen = g
		}
	}
	if gen == 0 {
		return 0, fmt.Errorf("view %s: %w (no index behind the alias)", v.Name, ErrNotFound)
	}
	return gen, nil
}

package codecs_test

import (
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/b2dc4357/sourced/codecs"
)

// TestLightSnapshotDecodersReadTheirFields decodes every golden snapshot
// with each light decoder and checks it against the full decode with the
// fields the decoder skips cleared.
func TestLightSnapshotDecodersReadTheirFields(t *testing.T) {
	for _, name := range []string{"snapshot", "snapshot_dedupe", "snapshot_input"} {
		t.Run(name, func(t *testing.T) {
			b, err := os.ReadFile(goldenPath(name))
			if err != nil {
				t.Fatal(err)
			}
			v, err := codecs.JSON[codecs.Snapshot]{}.Decode(b)
			if err != nil {
				t.Fatal(err)
			}
			full := *v.(*codecs.Snapshot)

			sansStep, err := codecs.DecodeSnapshotSansStep(b)
			if err != nil {
				t.Fatal(err)
			}
			want := full
			want.Step = codecs.Step{}
			if diff := cmp.Diff(&want, sansStep); diff != "" {
				t.Errorf("DecodeSnapshotSansStep (-want +got):\n%s", diff)
			}

			step, err := codecs.SnapshotStepCodec{}.Decode(b)
			if err != nil {
				t.Fatal(err)
			}
			want = full
			want.State, want.Recent = nil, nil
			if diff := cmp.Diff(&want, step); diff != "" {
				t.Errorf("SnapshotStepCodec (-want +got):\n%s", diff)
			}

			view, err := codecs.DecodeSnapshotForView(b)
			if err != nil {
				t.Fatal(err)
			}
			want = codecs.Snapshot{AggregateID: full.AggregateID, Version: full.Version, Schema: full.Schema,
				State: full.State, UpdatedAt: full.UpdatedAt}
			if diff := cmp.Diff(want, view); diff != "" {
				t.Errorf("DecodeSnapshotForView (-want +got):\n%s", diff)
			}
		})
	}
	for _, bad := range []string{``, `{`, `{"version":"x"}`} {
		if _, err := codecs.DecodeSnapshotSansStep([]byte(bad)); err == nil {
			t.Errorf("DecodeSnapshotSansStep(%q): no error", bad)
		}
		if _, err := (codecs.SnapshotStepCodec{}).Decode([]byte(bad)); err == nil {
			t.Errorf("SnapshotStepCodec.Decode(%q): no error", bad)
		}
		if _, err := codecs.DecodeSnapshotForView([]byte(bad)); err == nil {
			t.Errorf("DecodeSnapshotForView(%q): no error", bad)
		}
	}
}

package codecs_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/b2dc4357/sourced/codecs"
)

func TestNewTopics(t *testing.T) {
	for _, tc := range []struct {
		name   string
		prefix string
		want   codecs.Topics
	}{
		{
			name: "without a prefix names start with the aggregate",
			want: codecs.Topics{
				Aggregate:      "invoice",
				Commands:       "invoice-commands",
				Group:          "invoice",
				Table:          "invoice-table",
				Events:         "invoice-events",
				Results:        "invoice-results",
				DLQ:            "invoice-dlq",
				PublisherGroup: "invoice-publisher",
				PublisherTable: "invoice-publisher-table",
			},
		},
		{
			name:   "with a prefix every topic and group starts with it",
			prefix: "prod",
			want: codecs.Topics{
				Aggregate:      "invoice",
				Commands:       "prod-invoice-commands",
				Group:          "prod-invoice",
				Table:          "prod-invoice-table",
				Events:         "prod-invoice-events",
				Results:        "prod-invoice-results",
				DLQ:            "prod-invoice-dlq",
				PublisherGroup: "prod-invoice-publisher",
				PublisherTable: "prod-invoice-publisher-table",
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := codecs.NewTopics(tc.prefix, "invoice")
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("NewTopics(%q, invoice) (-want +got):\n%s", tc.prefix, diff)
			}
		})
	}
	t.Run("group tables follow goka's group-table naming", func(t *testing.T) {
		tp := codecs.NewTopics("", "profile")
		if tp.Table != tp.Group+"-table" || tp.PublisherTable != tp.PublisherGroup+"-table" {
			t.Errorf("tables %q, %q do not match groups %q, %q", tp.Table, tp.PublisherTable, tp.Group, tp.PublisherGroup)
		}
	})
	t.Run("the co-partitioned topics are commands, table, events and results", func(t *testing.T) {
		want := []string{"invoice-commands", "invoice-table", "invoice-events", "invoice-results"}
		if diff := cmp.Diff(want, codecs.NewTopics("", "invoice").CoPartitioned()); diff != "" {
			t.Errorf("CoPartitioned (-want +got):\n%s", diff)
		}
	})
	t.Run("All lists every topic once, group tables included", func(t *testing.T) {
		want := []string{"invoice-commands", "invoice-table", "invoice-events", "invoice-results",
			"invoice-dlq", "invoice-publisher-table"}
		if diff := cmp.Diff(want, codecs.NewTopics("", "invoice").All()); diff != "" {
			t.Errorf("All (-want +got):\n%s", diff)
		}
	})
}

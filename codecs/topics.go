package codecs

// Topics holds the topic and group names of one aggregate. It is the only
// place where these names are spelled out; every role derives them from here.
type Topics struct {
	// Aggregate is the aggregate name, e.g. "invoice".
	Aggregate string
	// Commands is the input topic of the processor, keyed by aggregate id.
	Commands string
	// Group is the processor's consumer group (and goka group).
	Group string
	// Table is the processor's group table: goka.GroupTable(Group).
	Table string
	// Events is the log of record, written by the publisher.
	Events string
	// Results carries one Result per command.
	Results string
	// DLQ receives input that could not be decoded or handled.
	DLQ string
	// PublisherGroup is the group that copies table steps to Events.
	PublisherGroup string
	// PublisherTable is the publisher's group table (last published version).
	PublisherTable string
}

// NewTopics derives every topic and group name of aggregate. A non-empty
// prefix is prepended to each name and a dash, e.g. prefix
// "prod" gives "prod-invoice-commands".
func NewTopics(prefix, aggregate string) Topics {
	base := aggregate
	if prefix != "" {
		base = prefix + "-" + aggregate
	}
	group := base
	publisher := base + "-publisher"
	return Topics{
		Aggregate:      aggregate,
		Commands:       base + "-commands",
		Group:          group,
		Table:          groupTable(group),
		Events:         base + "-events",
		Results:        base + "-results",
		DLQ:            base + "-dlq",
		PublisherGroup: publisher,
		PublisherTable: groupTable(publisher),
	}
}

// groupTable mirrors goka.GroupTable, which codecs may not import; a test in
// processors checks that both agree.
func groupTable(group string) string { return group + "-table" }

// CoPartitioned lists the topics that must have the same partition count.
func (t Topics) CoPartitioned() []string {
	return []string{t.Commands, t.Table, t.Events, t.Results}
}

// All lists every topic of the aggregate, group tables included.
func (t Topics) All() []string {
	return []string{t.Commands, t.Table, t.Events, t.Results, t.DLQ, t.PublisherTable}
}

// ViewGroup is the consumer group of the live projector of a view, e.g.
// "invoice-search-view" (with a prefix: "prod-invoice-search-view").
func ViewGroup(prefix, view string) string {
	if prefix != "" {
		return prefix + "-" + view + "-view"
	}
	return view + "-view"
}

package codecs

// Dead-letter headers name why and where a message failed. Every role
// writing to a dead-letter topic uses them, so one tool reads them all.
const (
	HeaderErrorCode       = "sourced-error-code"
	HeaderError           = "sourced-error"
	HeaderSourceTopic     = "sourced-source-topic"
	HeaderSourcePartition = "sourced-source-partition"
	HeaderSourceOffset    = "sourced-source-offset"
	// HeaderView names the view that could not store the message.
	HeaderView = "sourced-view"
)

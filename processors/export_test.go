package processors

import "github.com/lovoo/goka"

// WrapProducer makes the roles built with cfg produce through wrap, below
// the producer that taints the stores: tests inject produce faults with it.
func WrapProducer(cfg *Config, wrap func(goka.Producer) goka.Producer) { cfg.wrapProducer = wrap }

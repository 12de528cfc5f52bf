package p2p

import (
	"context"
	"log/slog"

	"github.com/libp2p/go-libp2p/gologshim"
)

// RouteLibraryLogs sends the logs of go-libp2p's own loggers (package
// gologshim, one logger a subsystem, named by the attribute "logger") to h,
// the node's handler, so that they are written in the node's format (text
// or JSON) rather than go-libp2p's. Each subsystem logs at the level
// GOLOG_LOG_LEVEL gives it, error when unset, as go-libp2p does by itself.
// The lifecycle log of fx (the dependency injection go-libp2p builds its
// host with) is dropped: the failure it reports, such as a port in use,
// comes back as the error of New. Call RouteLibraryLogs once, before the
// first node is built: each go-libp2p logger takes its handler when it
// first logs.
func RouteLibraryLogs(h slog.Handler) {
	gologshim.SetDefaultHandler(libraryHandler{h: h, level: slog.LevelError})
}

// libraryHandler passes the records of one go-libp2p logger at or above
// its level to h.
type libraryHandler struct {
	h     slog.Handler
	level slog.Level
	drop  bool // the logger of fx's lifecycle events
}

func (l libraryHandler) Enabled(ctx context.Context, level slog.Level) bool {
	return !l.drop && level >= l.level && l.h.Enabled(ctx, level)
}

func (l libraryHandler) Handle(ctx context.Context, r slog.Record) error {
	if l.drop || r.Level < l.level {
		return nil
	}
	return l.h.Handle(ctx, r)
}

// WithAttrs learns the subsystem from the "logger" attribute that gologshim
// adds first, and fx's logger from its "system" attribute.
func (l libraryHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	for _, a := range attrs {
		switch {
		case a.Key == "logger":
			l.level = gologshim.ConfigFromEnv().LevelForSystem(a.Value.String())
		case a.Key == "system" && a.Value.String() == "fx":
			l.drop = true
		}
	}
	l.h = l.h.WithAttrs(attrs)
	return l
}

func (l libraryHandler) WithGroup(name string) slog.Handler {
	l.h = l.h.WithGroup(name)
	return l
}

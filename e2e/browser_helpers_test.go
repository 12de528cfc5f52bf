package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// The explorer's browser tests drive Debian's chromium, headless, with
// chromedp. Without chromium they skip, unless CI is set: CI installs it
// (.ci/run), so there they must run.

// browserTimeout bounds one browser action (loading a page, waiting for
// an element), generously.
const browserTimeout = 30 * time.Second

// chromiumPath returns the chromium binary, or skips the test (fails it
// under CI).
func chromiumPath(t testing.TB) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium"
	}
	if ci := os.Getenv("CI"); ci != "" && ci != "false" && ci != "0" {
		t.Fatal("chromium is not installed, and CI is set: .ci/run installs it with apt-get install chromium")
	}
	t.Skip("skipping: the explorer's browser tests need chromium (apt-get install chromium); CI runs them")
	return ""
}

// browser is a headless chromium with one tab, recording console errors
// and the screenshots of the pages visited.
type browser struct {
	t   testing.TB
	ctx context.Context

	mu     sync.Mutex
	errors []string
	shots  map[string][]byte // page name → PNG (quality 100 makes a PNG)
}

// newBrowser starts chromium for the test; it is closed when the test ends,
// after the screenshots were saved if the test failed. extra options go
// after the defaults, which they override (chromedp.Flag("disable-quic",
// false) turns QUIC back on, for WebTransport).
func newBrowser(t testing.TB, extra ...chromedp.ExecAllocatorOption) *browser {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox, // tests run as root
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	}
	opts = append(opts, extra...)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(actx)
	b := &browser{t: t, ctx: ctx, shots: map[string][]byte{}}
	listen := func(ev any) {
		switch ev := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeAssert {
				var parts []string
				for _, a := range ev.Args {
					parts = append(parts, string(a.Value)+a.Description)
				}
				b.addError("console." + string(ev.Type) + ": " + strings.Join(parts, " "))
			}
		case *runtime.EventExceptionThrown:
			msg := ev.ExceptionDetails.Text
			if ev.ExceptionDetails.Exception != nil {
				msg += " " + ev.ExceptionDetails.Exception.Description
			}
			b.addError("exception: " + msg)
		case *cdplog.EventEntryAdded:
			if ev.Entry.Level == cdplog.EntryLevelError {
				b.addError("log: " + ev.Entry.Text + " " + ev.Entry.URL)
			}
		}
	}
	// The first action starts the browser and binds it to its context:
	// ctx, with no deadline.
	if err := chromedp.Do(ctx); err != nil {
		cancelTab()
		cancelAlloc()
		t.Fatalf("start chromium: %v", err)
	}
	if err := chromedp.Listen(ctx, listen); err != nil {
		cancelTab()
		cancelAlloc()
		t.Fatalf("listen to the console: %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			b.shot("at-failure")
			if errs := b.consoleErrors(); len(errs) > 0 {
				t.Logf("console errors:\n%s", strings.Join(errs, "\n"))
			}
			if u, err := chromedp.Run(b.ctx, chromedp.Location()); err == nil {
				t.Logf("page at failure: %s", u)
			}
		}
		if t.Failed() || os.Getenv("GOSSIPCHAIN_SCREENSHOTS") != "" {
			b.saveShots()
		}
		cancelTab()
		cancelAlloc()
	})
	return b
}

func (b *browser) addError(s string) {
	b.mu.Lock()
	b.errors = append(b.errors, s)
	b.mu.Unlock()
}

// consoleErrors returns the errors the pages reported so far.
func (b *browser) consoleErrors() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.errors...)
}

// run runs actions within browserTimeout, failing the test on error.
func (b *browser) run(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := b.runWithin(browserTimeout, actions...); err != nil {
		b.t.Fatalf("browser: %s: %v", what, err)
	}
}

// runWithin runs actions with a deadline of d.
func (b *browser) runWithin(d time.Duration, actions ...chromedp.Action[chromedp.Void]) error {
	ctx, cancel := context.WithTimeout(b.ctx, d)
	defer cancel()
	return chromedp.Do(ctx, actions...)
}

// value runs one action that returns a value, within browserTimeout.
func value[T any](b *browser, what string, a chromedp.Action[T]) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, browserTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		b.t.Fatalf("browser: %s: %v", what, err)
	}
	return v
}

// shot keeps a screenshot of the page as it is, under name.
func (b *browser) shot(name string) {
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Logf("screenshot %s: %v", name, err)
		return
	}
	b.mu.Lock()
	b.shots[name] = png
	b.mu.Unlock()
}

// artifactDir is where screenshots go: $GOSSIPCHAIN_ARTIFACTS, else
// e2e/testdata-out (ignored by git), in a directory named after the test.
func artifactDir(t testing.TB) string {
	base := os.Getenv("GOSSIPCHAIN_ARTIFACTS")
	if base == "" {
		base = "testdata-out"
	}
	name := regexp.MustCompile(`[^A-Za-z0-9_.-]+`).ReplaceAllString(t.Name(), "_")
	return filepath.Join(base, name)
}

func (b *browser) saveShots() {
	dir := artifactDir(b.t)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.t.Logf("screenshots: %v", err)
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for name, png := range b.shots {
		p := filepath.Join(dir, name+".png")
		if err := os.WriteFile(p, png, 0o644); err != nil {
			b.t.Logf("screenshot %s: %v", p, err)
			continue
		}
		b.t.Logf("screenshot saved: %s", p)
	}
}

// open loads url and waits until the explorer rendered its view and
// connected to /events.
func (b *browser) open(url string) {
	b.t.Helper()
	b.run("open "+url,
		chromedp.Navigate(url),
		chromedp.WaitVisible(chromedp.CSS(`#view > div`)),
		chromedp.WaitVisible(chromedp.CSS(`#live.on`)),
	)
}

// goTo switches the explorer to hash route (#/...) and waits for sel.
func (b *browser) goTo(route, sel string) {
	b.t.Helper()
	b.run("go to "+route,
		chromedp.Evaluate[chromedp.Void](fmt.Sprintf("location.hash = %q", route)),
		chromedp.WaitVisible(chromedp.CSS(sel)),
	)
}

// text returns the text content of the first element matching sel.
func (b *browser) text(sel string) string {
	b.t.Helper()
	return value(b, "text of "+sel, chromedp.TextContent(chromedp.CSS(sel)))
}

// eval evaluates a JavaScript expression whose value is ignored.
func (b *browser) eval(expr string) {
	b.t.Helper()
	b.run("evaluate "+expr, chromedp.Evaluate[chromedp.Void](expr))
}

// waitFor waits, within browserTimeout, for an element matching sel.
func (b *browser) waitFor(what, sel string) {
	b.t.Helper()
	b.run(what, chromedp.WaitVisible(chromedp.CSS(sel)))
}

// noConsoleErrors fails the test if a page reported an error.
func (b *browser) noConsoleErrors() {
	b.t.Helper()
	if errs := b.consoleErrors(); len(errs) > 0 {
		b.t.Errorf("the explorer reported %d console error(s):\n%s", len(errs), strings.Join(errs, "\n"))
	}
}

// waitLog waits until the node's log holds a line matching every pattern.
func (n *node) waitLog(what string, patterns ...string) string {
	n.t.Helper()
	res := make([]*regexp.Regexp, len(patterns))
	for i, p := range patterns {
		res[i] = regexp.MustCompile(p)
	}
	var found string
	waitFor(n.t, what, waitTimeout, func() error {
	lines:
		for _, line := range strings.Split(n.Log(), "\n") {
			for _, re := range res {
				if !re.MatchString(line) {
					continue lines
				}
			}
			found = line
			return nil
		}
		return fmt.Errorf("no log line matches %q", patterns)
	})
	return found
}

package main

import "runtime/debug"

// version is set at build time with
// -ldflags "-X main.version=v1.2.3" (scripts/build.sh sets devel-<commit>);
// otherwise Version reads the module version and VCS revision that the Go
// toolchain records.
var version = ""

// Version returns the version of this binary: the one set at build time,
// else the module version, else "devel" with the VCS revision when known,
// else "devel".
func Version() string {
	if version != "" {
		return version
	}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "devel"
	}
	if v := info.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	var rev, dirty string
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
			if len(rev) > 12 {
				rev = rev[:12]
			}
		case "vcs.modified":
			if s.Value == "true" {
				dirty = "-dirty"
			}
		}
	}
	if rev == "" {
		return "devel"
	}
	return "devel-" + rev + dirty
}

// versionNote explains a version without a revision ("devel"): how the
// binary was built and how to build one that says its commit. It is empty
// when the version names a release or a commit.
func versionNote() string {
	if Version() != "devel" {
		return ""
	}
	goVersion := "an unknown Go"
	if info, ok := debug.ReadBuildInfo(); ok {
		goVersion = info.GoVersion
	}
	return "this binary was built by " + goVersion + " without VCS information (go run, a git worktree, or GOFLAGS=-buildvcs=false), " +
		"so it cannot say its commit; scripts/build.sh OUT builds one that does"
}

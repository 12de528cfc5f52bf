package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gossipchain/gossipchain/chain"
)

func TestKeyNewAndShow(t *testing.T) {
	path := filepath.Join(t.TempDir(), "alice.key")
	var out, errOut bytes.Buffer
	if code := runClient([]string{"key", "new", "--out", path}, &out, &errOut); code != exitOK {
		t.Fatalf("key new: exit %d: %s", code, errOut.String())
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v, want mode 0600", fi, err)
	}
	key, err := chain.LoadKey(path)
	if err != nil {
		t.Fatal(err)
	}
	addr, err := chain.AddressOf(key)
	if err != nil {
		t.Fatal(err)
	}
	if want := "address  " + addr + "\nkey      " + path + "\n"; out.String() != want {
		t.Fatalf("key new printed %q, want %q", out.String(), want)
	}
	before, _ := os.ReadFile(path)

	out.Reset()
	if code := runClient([]string{"key", "show", "--key", path}, &out, &errOut); code != exitOK || out.String() != addr+"\n" {
		t.Fatalf("key show: exit %d: %q, want %s", code, out.String(), addr)
	}

	// An existing file is never replaced.
	errOut.Reset()
	if code := runClient([]string{"key", "new", "--out", path}, &out, &errOut); code != exitError || !strings.Contains(errOut.String(), "already exists") {
		t.Fatalf("key new over a key: exit %d: %s", code, errOut.String())
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
		t.Fatal("the key file changed")
	}

	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"key"}, exitUsage, "want gossipchain key new [--out FILE], or gossipchain key show --key FILE"},
		{[]string{"key", "show"}, exitUsage, "--key"},
		{[]string{"key", "new", "--key", path}, exitUsage, "--out"},
		{[]string{"key", "new", "--out", filepath.Join(t.TempDir(), "no", "such", "dir", "k")}, exitError, "does not exist"},
		{[]string{"key", "show", "--key", filepath.Join(t.TempDir(), "none")}, exitError, "does not exist"},
		{[]string{"key", "show", "--key", "/dev/null"}, exitError, "not a gossipchain key"},
		{[]string{"send", "--key", path, "--to", addr}, exitUsage, "--amount"},
		{[]string{"send", "--key", path, "--to", addr, "--amount", "-1"}, exitUsage, "positive integer"},
	} {
		errOut.Reset()
		if code := runClient(c.args, &out, &errOut); code != c.code || !strings.Contains(errOut.String(), c.want) {
			t.Errorf("%v: exit %d (want %d): %s (want %q)", c.args, code, c.code, errOut.String(), c.want)
		}
	}
}

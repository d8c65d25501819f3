package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// onTmpfs mounts a new tmpfs of size (like "64m") on dir, keeping what dir
// held, and unmounts it at the end of the test. Mounting needs root (CI
// runs as root): elsewhere the test is skipped, and with
// UPKEEP_TEST_REQUIRE=1 it fails.
func onTmpfs(t *testing.T, dir, size string) {
	t.Helper()
	skip := func(why string) {
		t.Helper()
		if os.Getenv("UPKEEP_TEST_REQUIRE") == "1" {
			t.Fatalf("%s, and UPKEEP_TEST_REQUIRE=1", why)
		}
		t.Skipf("%s: skipped (run as root on Linux, as CI does; UPKEEP_TEST_REQUIRE=1 makes this a failure)", why)
	}
	if os.Geteuid() != 0 {
		skip("mounting a tmpfs needs root")
	}
	keep := dir + ".before-tmpfs"
	if err := os.Rename(dir, keep); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size="+size); err != nil {
		os.Remove(dir)
		os.Rename(keep, dir)
		skip("mount -t tmpfs: " + err.Error())
	}
	t.Cleanup(func() { syscall.Unmount(dir, syscall.MNT_DETACH) })
	if out, err := exec.Command("cp", "-a", keep+"/.", dir).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v\n%s", err, out)
	}
	if err := os.RemoveAll(keep); err != nil {
		t.Fatal(err)
	}
}

// batchZips reads the fixture's three pending zips.
func batchZips(t *testing.T, f *batchFixture) map[string][]byte {
	t.Helper()
	zips := map[string][]byte{}
	for _, zip := range []string{"core-2.1.0.zip", "blog-1.4.0.zip", "shop-1.0.0.zip"} {
		data, err := os.ReadFile(filepath.Join(f.template.dir, "Updates_Pending", zip))
		if err != nil {
			t.Fatal(err)
		}
		zips[zip] = data
	}
	return zips
}

// assertMoved checks that each zip of the batch is in Updates_Installed,
// byte for byte, and no longer in Updates_Pending.
func assertMoved(t *testing.T, tr *trial, zips map[string][]byte) {
	t.Helper()
	for zip, want := range zips {
		if _, err := os.Lstat(filepath.Join(tr.dir, "Updates_Pending", zip)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s is still in Updates_Pending (%v)", zip, err)
		}
		got, _ := filepath.Glob(filepath.Join(tr.dir, "Updates_Installed", strings.TrimSuffix(zip, ".zip")+"_*.zip"))
		if len(got) != 1 {
			t.Fatalf("Updates_Installed holds %v for %s, want one zip", got, zip)
		}
		data, err := os.ReadFile(got[0])
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(data, want) {
			t.Errorf("%s differs from the zip that was in Updates_Pending", got[0])
		}
	}
}

// Updates_Pending on another file system (a tmpfs): no hard link can be
// made into Updates_Installed, so each zip is copied, fsynced, and removed
// from Updates_Pending; the batch installs and every later start works.
// Before, the batch committed, the move failed with "invalid cross-device
// link", and every start after exited 1.
func TestPendingOnOtherFileSystem(t *testing.T) {
	f := newBatchFixture(t, "sqlite", 4096)
	zips := batchZips(t, f)
	tr := f.copy(t)
	onTmpfs(t, filepath.Join(tr.dir, "Updates_Pending"), "64m")
	// The setup is what it claims: a link from Updates_Pending fails.
	probe := filepath.Join(tr.dir, "Updates_Installed", "probe.zip")
	if err := os.Link(filepath.Join(tr.dir, "Updates_Pending", "core-2.1.0.zip"), probe); !errors.Is(err, syscall.EXDEV) {
		os.Remove(probe)
		t.Fatalf("link across the tmpfs: %v, want EXDEV", err)
	}

	tr.run(t, "--install-updates", "--no-backup").want(t, 0, []string{"Installed 3 updates"}, nil)
	if f.assertClean(t, tr, false) {
		t.Fatal("the root is as before the batch")
	}
	assertMoved(t, tr, zips)
	tr.run(t, "--check-updates").want(t, 0, nil, nil)
	tr.run(t, "--ignore-updates").want(t, 0, nil, nil)
}

// A kill halfway through the copy of a zip into Updates_Installed (the
// batch has committed) leaves the zip whole in Updates_Pending and a
// temporary half copy beside Updates_Installed's zips; the next start
// removes the half copy, copies again and finishes: each zip ends in
// exactly one folder, whole.
func TestPendingOnOtherFileSystemKilledDuringCopy(t *testing.T) {
	f := newBatchFixture(t, "sqlite", 256<<10)
	zips := batchZips(t, f)
	tr := f.copy(t)
	onTmpfs(t, filepath.Join(tr.dir, "Updates_Pending"), "64m")

	r := runEnv(t, tr.dir, []string{"UPKEEP_TEST_FAULT=crash@copy:blog-1.4.0.zip"}, "--install-updates", "--no-backup")
	if r.code != -int(syscall.SIGKILL) {
		t.Fatalf("the install was not killed during the copy: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if _, err := os.Stat(filepath.Join(tr.dir, "Updates_Pending", "blog-1.4.0.zip")); err != nil {
		t.Fatalf("blog-1.4.0.zip left Updates_Pending before its copy was whole: %v", err)
	}
	temps, _ := filepath.Glob(filepath.Join(tr.dir, "Updates_Installed", ".blog-1.4.0_*.tmp"))
	if len(temps) != 1 {
		t.Fatalf("Updates_Installed holds %v, want the half copy of blog-1.4.0.zip", temps)
	}
	if info, err := os.Stat(temps[0]); err != nil || info.Size() == 0 || info.Size() >= int64(len(zips["blog-1.4.0.zip"])) {
		t.Fatalf("the half copy: %v, %v; want part of %d bytes", info, err, len(zips["blog-1.4.0.zip"]))
	}

	tr.run(t, "--check-updates").want(t, 0, []string{"upkeep finished the interrupted install of batch ", "(core 2.1.0, blog 1.4.0, shop 1.0.0)"}, nil)
	if f.assertClean(t, tr, false) {
		t.Fatal("the root is as before the batch")
	}
	assertMoved(t, tr, zips)
	tr.run(t, "--check-updates").want(t, 0, nil, nil)
}

// When the zips could only be copied into Updates_Installed, and it has
// no room for them, the install is refused before anything changes (it
// used to commit, then fail to move the zips).
func TestPendingOnOtherFileSystemNoRoomToCopy(t *testing.T) {
	f := newBatchFixture(t, "sqlite", 512<<10)
	tr := f.copy(t)
	onTmpfs(t, filepath.Join(tr.dir, "Updates_Pending"), "64m")
	// Room for the zip installed before (core 2.0.0), and 64 KiB more.
	var have int64
	entries, _ := os.ReadDir(filepath.Join(tr.dir, "Updates_Installed"))
	for _, e := range entries {
		if info, err := e.Info(); err == nil {
			have += (info.Size() + 4095) &^ 4095
		}
	}
	onTmpfs(t, filepath.Join(tr.dir, "Updates_Installed"), strconv.FormatInt(have+64<<10, 10))

	r := tr.run(t, "--install-updates", "--no-backup")
	r.want(t, 6, nil, []string{"at preflight", "copying the zips into Updates_Installed after the install (no hard link can be made from Updates_Pending: invalid cross-device link)", "everything was put back as it was"})
	if !f.assertClean(t, tr, true) {
		t.Fatal("the refused batch was installed")
	}
}

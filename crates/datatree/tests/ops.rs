//! Data-driven tests of single operations against ZooKeeper 3.8's semantics: stats,
//! sequential names and cversion, version checks, error precedence, ephemerals and session
//! close, byte-counted data, path validation. Each script line is `(command, expected)`;
//! see `common/mod.rs` for the command language (zxid counter N ⇒ time N × 1000 ms).

mod common;

use common::check;

#[test]
fn fresh_root_has_zero_stats() {
    check(&[
        (
            "stat /",
            "czxid=0 mzxid=0 pzxid=0 ctime=0 mtime=0 version=0 cversion=0 aversion=0 \
             owner=0x0 len=0 children=0",
        ),
        ("children /", "children []"),
        ("get /", "data \"\" version 0 len 0"),
        ("exists /", "exists version 0"),
    ]);
}

#[test]
fn create_sets_zookeepers_stats() {
    check(&[
        ("create /a persistent hello", "created /a"),
        (
            "stat /a",
            "czxid=1 mzxid=1 pzxid=1 ctime=1000 mtime=1000 version=0 cversion=0 aversion=0 \
             owner=0x0 len=5 children=0",
        ),
        (
            "stat /",
            "czxid=0 mzxid=0 pzxid=1 ctime=0 mtime=0 version=0 cversion=1 aversion=0 \
             owner=0x0 len=0 children=1",
        ),
        ("create /a/b persistent", "created /a/b"),
        (
            "stat /a",
            "czxid=1 mzxid=1 pzxid=2 ctime=1000 mtime=1000 version=0 cversion=1 aversion=0 \
             owner=0x0 len=5 children=1",
        ),
        ("create /a persistent again", "err NodeExists"),
        ("create / persistent", "err NodeExists"),
        ("create /x/y persistent", "err NoNode"),
        ("children /a", "children [b]"),
        ("get /a", "data \"hello\" version 0 len 5"),
    ]);
}

#[test]
fn set_data_updates_mtime_mzxid_version() {
    check(&[
        ("create /a persistent v0", "created /a"),
        ("set /a 0 v1", "version 1"),
        (
            "stat /a",
            "czxid=1 mzxid=2 pzxid=1 ctime=1000 mtime=2000 version=1 cversion=0 aversion=0 \
             owner=0x0 len=2 children=0",
        ),
        ("set /a 0 stale", "err BadVersion"),
        ("set /a -1 any", "version 2"),
        ("set /a 2", "version 3"),
        ("get /a", "data \"\" version 3 len 0"),
        ("set /missing -1 x", "err NoNode"),
        ("set /missing 7 x", "err NoNode"),
        ("set / -1 rootdata", "version 1"),
    ]);
}

#[test]
fn data_length_counts_utf8_bytes() {
    check(&[
        ("create /u persistent héllo✓", "created /u"),
        ("get /u", "data \"héllo✓\" version 0 len 9"),
        ("set /u -1 日本", "version 1"),
        ("get /u", "data \"日本\" version 1 len 6"),
        ("create /ü persistent 🙂", "created /ü"),
        ("get /ü", "data \"🙂\" version 0 len 4"),
        ("children /", "children [u ü]"),
    ]);
}

#[test]
fn sequential_names_count_child_creations_not_deletions() {
    check(&[
        ("create /q persistent", "created /q"),
        // A plain create advances the parent's counter too.
        ("create /q/a persistent", "created /q/a"),
        ("create /q/ persistent_sequential", "created /q/0000000001"),
        ("delete /q/a -1", "deleted"),
        // The delete did not advance it, nor free a number.
        ("create /q/ persistent_sequential", "created /q/0000000002"),
        (
            "create /q/item- ephemeral_sequential",
            "created /q/item-0000000003",
        ),
        (
            "stat /q",
            "czxid=1 mzxid=1 pzxid=6 ctime=1000 mtime=1000 version=0 cversion=5 aversion=0 \
             owner=0x0 len=0 children=3",
        ),
        ("delete /q/0000000001 -1", "deleted"),
        // Deletion: pzxid moves to the delete's zxid; the visible cversion counts it too.
        (
            "stat /q",
            "czxid=1 mzxid=1 pzxid=7 ctime=1000 mtime=1000 version=0 cversion=6 aversion=0 \
             owner=0x0 len=0 children=2",
        ),
        // Failed creates advance nothing.
        ("create /q/0000000002 persistent", "err NodeExists"),
        ("create /q/ persistent_sequential", "created /q/0000000004"),
        (
            "children /q",
            "children [0000000002 0000000004 item-0000000003]",
        ),
    ]);
}

#[test]
fn sequential_suffix_may_follow_a_trailing_slash_or_the_root() {
    check(&[
        ("create /q persistent", "created /q"),
        ("create /q/x persistent", "created /q/x"),
        ("create /q/y persistent", "created /q/y"),
        ("create /q/z persistent", "created /q/z"),
        ("create /q/ persistent_sequential", "created /q/0000000003"),
        ("create /q/ persistent", "err BadArguments"),
        // Sequential at the root: "/" + counter (the root has had one create, /q).
        ("create / persistent_sequential", "created /0000000001"),
        (
            "create /q/x/ ephemeral_sequential",
            "created /q/x/0000000000",
        ),
    ]);
}

#[test]
fn errors_consume_a_zxid_reads_do_not() {
    check(&[
        ("create /a persistent", "created /a"),
        ("create /a persistent", "err NodeExists"),
        ("get /a", "data \"\" version 0 len 0"),
        ("exists /nope", "absent"),
        ("create /b persistent", "created /b"),
        (
            "stat /b",
            "czxid=3 mzxid=3 pzxid=3 ctime=3000 mtime=3000 version=0 cversion=0 aversion=0 \
             owner=0x0 len=0 children=0",
        ),
    ]);
}

#[test]
fn delete_checks_version_before_emptiness() {
    check(&[
        ("create /p persistent", "created /p"),
        ("create /p/c persistent", "created /p/c"),
        // Non-empty node, wrong version: BadVersion wins over NotEmpty.
        ("delete /p 5", "err BadVersion"),
        ("delete /p 0", "err NotEmpty"),
        ("delete /p -1", "err NotEmpty"),
        ("delete /p/c 1", "err BadVersion"),
        ("delete /p/c 0", "deleted"),
        ("delete /p/c -1", "err NoNode"),
        ("delete /nope 7", "err NoNode"),
        ("delete /nope/x 0", "err NoNode"),
        ("delete / -1", "err BadArguments"),
        ("delete /p/ -1", "err BadArguments"),
        ("set /p -1 x", "version 1"),
        ("delete /p 0", "err BadVersion"),
        ("delete /p 1", "deleted"),
        ("children /", "children []"),
    ]);
}

#[test]
fn version_minus_one_matches_any() {
    check(&[
        ("create /v persistent", "created /v"),
        ("check /v -1", "checked"),
        ("check /v 0", "checked"),
        ("check /v 1", "err BadVersion"),
        ("set /v -1 a", "version 1"),
        ("set /v -1 b", "version 2"),
        ("check /v 2", "checked"),
        ("check /nope -1", "err NoNode"),
        ("delete /v -1", "deleted"),
    ]);
}

#[test]
fn ephemerals_cannot_have_children() {
    check(&[
        ("s2 create /e ephemeral", "created /e"),
        (
            "stat /e",
            "czxid=1 mzxid=1 pzxid=1 ctime=1000 mtime=1000 version=0 cversion=0 aversion=0 \
             owner=0x2 len=0 children=0",
        ),
        ("create /e/c persistent", "err NoChildrenForEphemerals"),
        ("s2 create /e/c ephemeral", "err NoChildrenForEphemerals"),
        (
            "create /e/ persistent_sequential",
            "err NoChildrenForEphemerals",
        ),
        // NodeExists is checked before the ephemeral parent, NoNode before both.
        ("create /e persistent", "err NodeExists"),
        ("create /e/x/y persistent", "err NoNode"),
        // The failures did not advance the ephemeral's counter.
        (
            "stat /e",
            "czxid=1 mzxid=1 pzxid=1 ctime=1000 mtime=1000 version=0 cversion=0 aversion=0 \
             owner=0x2 len=0 children=0",
        ),
    ]);
}

#[test]
fn close_session_deletes_only_its_ephemerals() {
    check(&[
        ("create /app persistent", "created /app"),
        (
            "s2 create /app/lock- ephemeral_sequential",
            "created /app/lock-0000000000",
        ),
        (
            "s3 create /app/lock- ephemeral_sequential",
            "created /app/lock-0000000001",
        ),
        ("s2 create /e2 ephemeral", "created /e2"),
        ("s2 create /app/p persistent", "created /app/p"),
        ("s2 close", "closed"),
        ("exists /e2", "absent"),
        ("exists /app/lock-0000000000", "absent"),
        ("children /app", "children [lock-0000000001 p]"),
        // Deletes raise pzxid to the close's zxid and the visible cversion (2 × creations − children).
        (
            "stat /app",
            "czxid=1 mzxid=1 pzxid=6 ctime=1000 mtime=1000 version=0 cversion=4 aversion=0 \
             owner=0x0 len=0 children=2",
        ),
        (
            "stat /",
            "czxid=0 mzxid=0 pzxid=6 ctime=0 mtime=0 version=0 cversion=3 aversion=0 \
             owner=0x0 len=0 children=1",
        ),
        ("s2 close", "closed"),
        ("s3 close", "closed"),
        ("children /app", "children [p]"),
        (
            "s3 create /app/lock- ephemeral_sequential",
            "created /app/lock-0000000003",
        ),
    ]);
}

#[test]
fn invalid_paths_are_bad_arguments() {
    check(&[
        ("create a persistent", "err BadArguments"),
        ("create '' persistent", "err BadArguments"),
        ("create /a/ persistent", "err BadArguments"),
        ("create // persistent", "err BadArguments"),
        ("create //a persistent", "err BadArguments"),
        ("create /. persistent", "err BadArguments"),
        ("create /.. persistent", "err BadArguments"),
        ("create /a/./b persistent", "err BadArguments"),
        ("create /a\u{1} persistent", "err BadArguments"),
        ("create /a\u{e000} persistent", "err BadArguments"),
        ("create /😀 persistent", "err BadArguments"),
        // Client-side validation comes before the server's parent lookup.
        ("create /missing/ persistent", "err BadArguments"),
        ("create /missing/ persistent_sequential", "err NoNode"),
        ("create /... persistent", "created /..."),
        ("create /.a persistent", "created /.a"),
        ("get a", "err BadArguments"),
        ("exists /a/", "err BadArguments"),
        ("children ''", "err BadArguments"),
        ("set /x/ -1 d", "err BadArguments"),
        ("check /.. 0", "err BadArguments"),
        ("delete //x -1", "err BadArguments"),
        ("sync bad", "err BadArguments"),
        ("children /", "children [... .a]"),
    ]);
}

#[test]
fn missing_nodes_on_reads() {
    check(&[
        ("get /nope", "err NoNode"),
        ("children /nope", "err NoNode"),
        ("exists /nope", "absent"),
        ("sync /nope", "synced /nope"),
        ("open 4000", "session 4000"),
    ]);
}

#[test]
fn children_are_sorted() {
    check(&[
        ("create /c persistent", "created /c"),
        ("create /c/b persistent", "created /c/b"),
        ("create /c/a persistent", "created /c/a"),
        ("create /c/B persistent", "created /c/B"),
        ("create /c/aa persistent", "created /c/aa"),
        ("children /c", "children [B a aa b]"),
    ]);
}

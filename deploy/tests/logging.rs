//! The global logger against a real redis-server's log file: same line shape, same clock, level filtering,
//! reopening after rotation, `C` lines from a forked child, syslog enabled. The logger is process-wide, so
//! the tests take turns through `SERIAL`.

mod common;

use common::{have, wait_until, RedisServer};
use regex::Regex;
use std::sync::Mutex;
use std::time::Duration;
use zedis_deploy::log::{self, Level, LogConfig, Role};
use zedis_deploy::syslog::Facility;

static SERIAL: Mutex<()> = Mutex::new(());

/// Redis 7.0's `serverLogRaw` line: `pid:role dd Mon yyyy hh:mm:ss.mmm c message`.
fn line_shape() -> Regex {
    Regex::new(
        r"^(\d+):([XCSM]) (\d{2}) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) (\d{4}) (\d{2}):(\d{2}):(\d{2})\.(\d{3}) ([.\-*#]) (.*)$",
    )
    .unwrap()
}

/// Seconds since 1970 of a matched line's local time stamp (as if UTC: only differences are compared).
fn stamp_s(caps: &regex::Captures<'_>) -> i64 {
    let month = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ]
    .iter()
    .position(|m| *m == &caps[4])
    .unwrap() as i64
        + 1;
    let num = |i: usize| caps[i].parse::<i64>().unwrap();
    let (y, m, d) = (num(5), month, num(3));
    // days_from_civil
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    days * 86_400 + num(6) * 3600 + num(7) * 60 + num(8)
}

fn config(logfile: &std::path::Path, level: Level) -> LogConfig {
    LogConfig {
        level,
        logfile: logfile.to_string_lossy().into_owned(),
        ..LogConfig::default()
    }
}

fn lines(path: &std::path::Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn lines_have_redis_servers_shape_and_clock() {
    let _turn = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    if !have("redis-server") {
        eprintln!("redis-server missing: skipped");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let redis = RedisServer::builder().start().expect("redis-server");
    let redis_log = redis.dir.join("redis.log");
    assert!(wait_until(Duration::from_secs(20), || lines(&redis_log)
        .iter()
        .any(|l| l.contains("Ready to accept connections"))));
    let shape = line_shape();
    let theirs = lines(&redis_log);
    let ready = theirs
        .iter()
        .find(|l| l.contains("Ready to accept connections"))
        .unwrap();
    let their_caps = shape.captures(ready).expect("redis-server's line matches");
    assert_eq!(&their_caps[1], redis.pid().to_string());
    assert_eq!(&their_caps[2], "M");
    assert_eq!(&their_caps[10], "*");
    // Every line redis-server wrote (not the raw logo) has the shape.
    for line in theirs
        .iter()
        .filter(|l| l.contains(" * ") || l.contains(" # "))
    {
        assert!(shape.is_match(line), "redis-server line {line:?}");
    }

    let ours = dir.path().join("zedis.log");
    log::init(&config(&ours, Level::Notice)).unwrap();
    log::set_role(Role::Master);
    zedis_deploy::notice!("Ready to accept connections tcp");
    zedis_deploy::warning!("WARNING a {} warning", "formatted");
    let written = lines(&ours);
    assert_eq!(written.len(), 2, "{written:?}");
    let caps = shape.captures(&written[0]).expect("our line matches");
    assert_eq!(&caps[1], std::process::id().to_string());
    assert_eq!(&caps[2], "M");
    assert_eq!(&caps[10], "*");
    assert_eq!(&caps[11], "Ready to accept connections tcp");
    let caps1 = shape.captures(&written[1]).unwrap();
    assert_eq!(&caps1[10], "#");
    assert_eq!(&caps1[11], "WARNING a formatted warning");
    // Same local clock and time zone as redis-server: our line comes a few seconds after its ready line.
    let delta = stamp_s(&caps) - stamp_s(&their_caps);
    assert!((0..=120).contains(&delta), "clock differs by {delta} s");
    log::init(&LogConfig::default()).unwrap();
}

#[test]
fn level_filtering() {
    let _turn = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("levels.log");
    let every_level = || {
        zedis_deploy::debug!("d");
        zedis_deploy::verbose!("v");
        zedis_deploy::notice!("n");
        zedis_deploy::warning!("w");
        zedis_deploy::log!(Level::Nothing, "never written");
    };
    let chars = |path: &std::path::Path| -> String {
        lines(path)
            .iter()
            .map(|l| line_shape().captures(l).unwrap()[10].to_string())
            .collect()
    };
    log::init(&config(&path, Level::Debug)).unwrap();
    every_level();
    assert_eq!(chars(&path), ".-*#");
    std::fs::remove_file(&path).unwrap();
    log::init(&config(&path, Level::Warning)).unwrap();
    every_level();
    assert_eq!(chars(&path), "#");
    log::set_level(Level::Verbose); // CONFIG SET loglevel
    assert_eq!(log::level(), Level::Verbose);
    every_level();
    assert_eq!(chars(&path), "#-*#");
    log::set_level(Level::Nothing);
    every_level();
    assert_eq!(chars(&path), "#-*#");
    assert!(!log::enabled(Level::Warning));
    log::init(&LogConfig::default()).unwrap();
}

#[test]
fn reopen_after_rotation_and_unwritable_logfile() {
    let _turn = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rotate.log");
    log::init(&config(&path, Level::Notice)).unwrap();
    zedis_deploy::notice!("before rotation");
    let rotated = dir.path().join("rotate.log.1");
    std::fs::rename(&path, &rotated).unwrap();
    zedis_deploy::notice!("still to the moved file");
    log::reopen().unwrap();
    zedis_deploy::notice!("after reopen");
    let old = lines(&rotated);
    assert_eq!(old.len(), 2);
    assert!(old[1].ends_with("still to the moved file"));
    let new = lines(&path);
    assert_eq!(new.len(), 1);
    assert!(new[0].ends_with("after reopen"));
    // A logfile that cannot be opened is refused with Redis's text, and the old target stays.
    let err = log::init(&config(&dir.path().join("no/such/dir.log"), Level::Notice)).unwrap_err();
    assert_eq!(
        err.to_string(),
        "Can't open the log file: No such file or directory"
    );
    zedis_deploy::notice!("old target kept");
    assert!(lines(&path)[1].ends_with("old target kept"));
    log::init(&LogConfig::default()).unwrap();
}

#[test]
fn forked_child_lines_carry_c_and_its_pid() {
    let _turn = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("child.log");
    log::init(&config(&path, Level::Notice)).unwrap();
    log::set_role(Role::Replica);
    zedis_deploy::notice!("parent line");
    // SAFETY: the child only formats a line on the stack, writes it and calls _exit.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0);
    if pid == 0 {
        zedis_deploy::notice!("DB saved on disk");
        unsafe { libc::_exit(0) };
    }
    let mut status = 0;
    unsafe { libc::waitpid(pid, &mut status, 0) };
    let written = lines(&path);
    let shape = line_shape();
    let parent = shape.captures(&written[0]).unwrap();
    assert_eq!(&parent[2], "S");
    let child = shape.captures(&written[1]).unwrap();
    assert_eq!(&child[1], pid.to_string());
    assert_eq!(&child[2], "C");
    assert_eq!(&child[11], "DB saved on disk");
    log::set_role(Role::Master);
    log::init(&LogConfig::default()).unwrap();
}

#[test]
fn syslog_enabled_does_not_disturb_the_file() {
    let _turn = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("syslog.log");
    let mut conf = config(&path, Level::Debug);
    conf.syslog_enabled = true;
    conf.syslog_ident = "zedis-test".to_string();
    conf.syslog_facility = Facility::parse("local7").unwrap();
    log::init(&conf).unwrap();
    // With or without a syslog daemon (/dev/log), every level goes out and nothing blocks or crashes;
    // a NUL inside a message is cut for syslog, kept for the file.
    for i in 0..200 {
        zedis_deploy::log!(
            [Level::Debug, Level::Verbose, Level::Notice, Level::Warning][i % 4],
            "syslog line {i} with a nul \0 inside"
        );
    }
    assert_eq!(lines(&path).len(), 200);
    conf.syslog_ident = "bad\0ident".to_string();
    assert!(log::init(&conf).is_err());
    log::init(&LogConfig::default()).unwrap();
}

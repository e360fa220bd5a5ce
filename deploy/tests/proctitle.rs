//! The process title as `ps` reads it: this test process takes over its own argument area, sets a title
//! longer than its arguments, and reads `/proc/self/cmdline` back; the environment still reads as before.

use zedis_deploy::proctitle::ProcTitle;

#[test]
fn the_title_shows_in_proc_cmdline_and_the_environment_survives() {
    let path_before = std::env::var_os("PATH");
    let home_before = std::env::var_os("HOME");
    // SAFETY: this test binary runs this single test on its own thread; nothing else reads the
    // environment or the command line meanwhile, and nothing holds pointers into them.
    let Some(mut title) = (unsafe { ProcTitle::init() }) else {
        eprintln!("note: /proc/self/stat unreadable, skipped");
        return;
    };
    assert!(
        title.capacity() > 40,
        "argument + environment area of {} bytes",
        title.capacity()
    );
    let text = "zedis-server 127.0.0.1:6379 [cluster] with a long tail";
    title.set(text);
    let cmdline = std::fs::read("/proc/self/cmdline").unwrap();
    let shown = String::from_utf8_lossy(cmdline.split(|&b| b == 0).next().unwrap()).into_owned();
    assert_eq!(shown, &text[..text.len().min(title.capacity())]);
    let comm = std::process::Command::new("ps")
        .args(["-o", "args=", "-p", &std::process::id().to_string()])
        .output();
    if let Ok(out) = comm {
        if out.status.success() {
            assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), shown);
        }
    }
    assert_eq!(std::env::var_os("PATH"), path_before);
    assert_eq!(std::env::var_os("HOME"), home_before);
    // A shorter title leaves no tail of the longer one.
    title.set("zedis-rdb-bgsave");
    let cmdline = std::fs::read("/proc/self/cmdline").unwrap();
    assert_eq!(
        cmdline.split(|&b| b == 0).next().unwrap(),
        b"zedis-rdb-bgsave"
    );
}

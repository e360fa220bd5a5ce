//! Local time for the log line prefix without `localtime_r`'s lock: glibc's `localtime` takes a process-wide
//! lock, which a forked child (RDB or AOF rewrite) could inherit held and deadlock on. Like Redis's
//! `nolocks_localtime`, the offset from UTC is read once (and refreshed by [`refresh_offset`], which the
//! server calls from its cron so daylight-saving changes show up), and the civil date is computed by hand.

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Seconds east of UTC of local time, as last read by [`refresh_offset`].
static OFFSET_S: AtomicI64 = AtomicI64::new(0);

const MONTHS: [&[u8; 3]; 12] = [
    b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec",
];

/// Reads the local UTC offset (honouring `TZ`) now. Takes libc's time zone lock: call it from the main
/// thread at startup and from the cron, never from a forked child.
pub fn refresh_offset() {
    let now = unix_now().0 as libc::time_t;
    // SAFETY: `tm` is plain data that `localtime_r` fills; both pointers are valid for the call.
    let offset = unsafe {
        let mut tm: libc::tm = std::mem::zeroed();
        if libc::localtime_r(&now, &mut tm).is_null() {
            0
        } else {
            tm.tm_gmtoff
        }
    };
    OFFSET_S.store(offset, Ordering::Relaxed);
}

/// The current UTC offset in seconds (what [`refresh_offset`] last read).
pub fn offset_s() -> i64 {
    OFFSET_S.load(Ordering::Relaxed)
}

/// Unix time now: `(seconds, milliseconds within the second)`.
pub fn unix_now() -> (i64, u32) {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    (since.as_secs() as i64, since.subsec_millis())
}

/// `(year, month 1..=12, day 1..=31)` of the day `days` after 1970-01-01 (Howard Hinnant's civil_from_days).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Writes `dd Mon yyyy hh:mm:ss.mmm` (strftime's `%d %b %Y %H:%M:%S.` and `%03d` milliseconds, C locale)
/// for `unix_s` shifted by `offset_s` into `out`, returning the bytes written (always 24 for years 1000..9999).
pub fn format_prefix(unix_s: i64, millis: u32, offset_s: i64, out: &mut [u8; 32]) -> usize {
    let local = unix_s + offset_s;
    let (year, month, day) = civil_from_days(local.div_euclid(86_400));
    let secs = local.rem_euclid(86_400);
    let (hour, minute, second) = (secs / 3600, secs / 60 % 60, secs % 60);
    let mut cursor = std::io::Cursor::new(&mut out[..]);
    let month = std::str::from_utf8(MONTHS[(month - 1) as usize]).unwrap_or("???");
    // The buffer holds any i64 year, so the write cannot fail; a failure would only shorten the prefix.
    let _ = std::io::Write::write_fmt(
        &mut cursor,
        format_args!(
            "{day:02} {month} {year} {hour:02}:{minute:02}:{second:02}.{:03}",
            millis.min(999)
        ),
    );
    cursor.position() as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prefix(unix_s: i64, millis: u32, offset_s: i64) -> String {
        let mut buf = [0u8; 32];
        let n = format_prefix(unix_s, millis, offset_s, &mut buf);
        String::from_utf8(buf[..n].to_vec()).unwrap()
    }

    #[test]
    fn known_instants() {
        assert_eq!(prefix(0, 0, 0), "01 Jan 1970 00:00:00.000");
        // 2024-02-29 23:59:59 UTC, a leap day.
        assert_eq!(prefix(1_709_251_199, 7, 0), "29 Feb 2024 23:59:59.007");
        // One hour east crosses into March.
        assert_eq!(prefix(1_709_251_199, 999, 3600), "01 Mar 2024 00:59:59.999");
        // West of UTC before the epoch.
        assert_eq!(prefix(0, 5, -3600), "31 Dec 1969 23:00:00.005");
        assert_eq!(prefix(4_102_444_800, 0, 0), "01 Jan 2100 00:00:00.000");
    }

    #[test]
    fn matches_libc_gmtime_over_many_days() {
        // Every ~10 days over 200 years, against glibc's gmtime_r formatted by strftime.
        for step in 0..7300i64 {
            let t = -2_208_988_800 + step * 864_061; // 1900..2100, odd offset so times of day vary
            let mut tm: libc::tm = unsafe { std::mem::zeroed() };
            let tt = t as libc::time_t;
            unsafe { libc::gmtime_r(&tt, &mut tm) };
            let mut buf = [0u8; 64];
            let fmt = c"%d %b %Y %H:%M:%S.";
            let n =
                unsafe { libc::strftime(buf.as_mut_ptr().cast(), buf.len(), fmt.as_ptr(), &tm) };
            let expected = format!("{}000", std::str::from_utf8(&buf[..n]).unwrap());
            assert_eq!(prefix(t, 0, 0), expected, "t={t}");
        }
    }
}
